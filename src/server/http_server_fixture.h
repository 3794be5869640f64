// What the HTTP server's tests share: a fixture running a real server on
// loopback (static files, deferred and upload routes, an access log), the
// upload sink it records into, and small helpers. Test-only.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <thread>

#include "base/testing/testing.h"
#include "crypto/tls_identity.h"
#include "server/http_server.h"
#include "server/static_files.h"
#include "server/test_client.h"

namespace goldroot::server {
// Each test file gets its own copy (one fixture, several translation units).
namespace {

using goldroot::testing::get_request;
using goldroot::testing::ParsedResponse;
using goldroot::testing::TestClient;
using goldroot::testing::Wire;

size_t open_fd_count() {
  size_t count = 0;
  DIR* directory = ::opendir("/proc/self/fd");
  while (dirent* entry = ::readdir(directory))
    if (entry->d_name[0] != '.') ++count;
  ::closedir(directory);
  return count - 1;  // the DIR's own descriptor
}

using testing::random_bytes;

// What the test upload route saw, shared with its sinks.
struct UploadLog {
  std::mutex mutex;
  std::string finished;  // the body of the last finished upload
  int aborted = 0;
};

class RecordingSink : public UploadSink {
 public:
  // Past `fail_after` bytes, writes fail: kNoSpace (a full disk) or, with
  // `capped`, kInvalidArgument (a size limit, 413).
  RecordingSink(UploadLog* log, size_t fail_after, bool capped = false)
      : log_(log), fail_after_(fail_after), capped_(capped) {}
  ~RecordingSink() override {
    if (!finished_) {
      std::lock_guard<std::mutex> lock(log_->mutex);
      ++log_->aborted;
    }
  }
  Status write(std::string_view data) override {
    received_.append(data);
    if (received_.size() > fail_after_ && capped_)
      return make_error(ErrorCode::kInvalidArgument, "the upload is over its limit");
    if (received_.size() > fail_after_)
      return make_error(ErrorCode::kNoSpace, "no space left for the upload");
    return {};
  }
  HttpResponse finish() override {
    finished_ = true;
    std::lock_guard<std::mutex> lock(log_->mutex);
    log_->finished = received_;
    return HttpResponse::text(200, std::to_string(received_.size()));
  }

 private:
  UploadLog* log_;
  size_t fail_after_;
  bool capped_;
  std::string received_;
  bool finished_ = false;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(raise_open_file_limit());
    big_ = random_bytes(8 << 20, 1);
    medium_ = random_bytes(256 << 10, 2);
    goldroot::testing::write_file(temp_ / "root/big.bin", big_);
    goldroot::testing::write_file(temp_ / "root/medium.bin", medium_);
    goldroot::testing::write_file(temp_ / "root/sub/hello.txt", "hello\n");
    goldroot::testing::write_file(temp_ / "secret.txt", "TOP-SECRET");
    goldroot::testing::write_file(temp_ / "objects/abc123.erofs", "content addressed");
    ASSERT_EQ(::symlink("../secret.txt", (temp_ / "root/escape").c_str()), 0);
    ASSERT_EQ(::mkfifo((temp_ / "root/fifo").c_str(), 0644), 0);
  }

  void start(ServerOptions options = {}) {
    Router router;
    ASSERT_OK_AND_ASSIGN(auto files, StaticFiles::open(temp_ / "root", "/files/"));
    ASSERT_OK_AND_ASSIGN(
        auto objects, StaticFiles::open(temp_ / "objects", "/objects/", CachePolicy::kImmutable));
    router.add_prefix("/files/", StaticFiles::handler(files));
    router.add_prefix("/objects/", StaticFiles::handler(objects));
    router.add_exact("/hello", [](const HttpRequest&) {
      return HttpResponse::text(200, "hi there\n")
          .with_etag("v1")
          .with_cache(CachePolicy::kNoStore);
    });
    router.add_exact("/echo", [](const HttpRequest& request) {
      return HttpResponse::text(200, request.method + " " + request.body);
    }, SIZE_MAX);
    // "/slow?hold" is made only once the test sets release_slow_ (or after
    // 10 s, so a broken server fails the test instead of hanging it).
    router.add_exact("/slow", [this](const HttpRequest& request) {
      return HttpResponse::later([this, query = request.query] {
        for (int i = 0; query == "hold" && !release_slow_ && i < 1000; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        slow_done_ = true;
        return HttpResponse::text(200, "made off the loop: " + query + "\n");
      });
    });
    router.add_exact("/wire", [](const HttpRequest& request) {
      return HttpResponse::text(200, request.secure ? "tls" : "plain");
    });
    router.add_exact("/throws", [](const HttpRequest&) -> HttpResponse {
      throw std::runtime_error("handler bug");
    });
    router.add_upload("/upload/", [this](const HttpRequest& head) {
      UploadStart start;
      if (head.path == "/upload/refuse") {
        start.refusal = HttpResponse::text(403, "no\n");
        return start;
      }
      bool capped = head.path == "/upload/capped";
      size_t limit = head.path == "/upload/small" || capped ? 100 * 1024 : SIZE_MAX;
      start.sink = std::make_unique<RecordingSink>(&uploads_, limit, capped);
      return start;
    });
    ASSERT_OK_AND_ASSIGN(log_, AccessLog::open(temp_ / "access.log"));
    options.access_log = log_.get();
    ASSERT_OK_AND_ASSIGN(server_, HttpServer::start(options, std::move(router)));
    baseline_fds_ = open_fd_count();
  }

  // start() with a TLS listener beside the plain one, on the site's kind of
  // key and certificate (crypto/tls_identity.h).
  void start_tls(ServerOptions options = {}) {
    ASSERT_OK(ensure_tls_identity(temp_.path(), {"localhost", "127.0.0.1"}));
    options.tls = TlsListenOptions{.address = "127.0.0.1",
                                   .certificate_file = tls_certificate_path(temp_.path()),
                                   .key_file = tls_key_path(temp_.path())};
    start(options);
  }

  // Waits (bounded) until the server has closed every connection and the
  // process holds exactly the descriptors it had right after start.
  void expect_fds_back_to_baseline() {
    for (int i = 0;
         i < 200 && (server_->open_connections() > 0 || open_fd_count() != baseline_fds_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(server_->open_connections(), 0u);
    EXPECT_EQ(open_fd_count(), baseline_fds_);
  }

  ParsedResponse fetch(const std::string& request, bool head = false) {
    TestClient client(server_->port());
    EXPECT_TRUE(client.connected());
    EXPECT_TRUE(client.send_all(request));
    auto response = client.read_response(head);
    EXPECT_TRUE(response.has_value()) << request;
    return response.value_or(ParsedResponse{});
  }

  // `body` in chunks of random sizes.
  static std::string chunked(const std::string& body, uint32_t seed) {
    std::mt19937 generator(seed);
    std::string wire;
    for (size_t at = 0; at < body.size();) {
      size_t length = std::min<size_t>(body.size() - at, 1 + generator() % 100000);
      char size_line[32];
      std::snprintf(size_line, sizeof size_line, "%zx\r\n", length);
      wire += size_line;
      wire += body.substr(at, length);
      wire += "\r\n";
      at += length;
    }
    return wire + "0\r\n\r\n";
  }

  UploadLog uploads_;
  std::atomic<bool> release_slow_{false};
  std::atomic<bool> slow_done_{false};
  goldroot::testing::TempDir temp_;
  std::string big_;
  std::string medium_;
  std::unique_ptr<AccessLog> log_;
  std::unique_ptr<HttpServer> server_;
  size_t baseline_fds_ = 0;
};


}  // namespace
}  // namespace goldroot::server

// The server over real loopback sockets, in-process: protocol behaviour
// (ranges, HEAD, ETag), hostile input, and resource hygiene under load.
#include "server/http_server.h"

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
#include "server/static_files.h"
#include "server/test_client.h"

namespace goldroot::server {
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

std::string random_bytes(size_t size, uint32_t seed) {
  std::mt19937_64 generator(seed);
  std::string data(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    uint64_t value = generator();
    std::memcpy(&data[i], &value, std::min<size_t>(8, size - i));
  }
  return data;
}

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

TEST_F(HttpServerTest, ServesAFileWholeAndAnswersHeadWithoutABody) {
  start();
  TestClient client(server_->port());
  ASSERT_TRUE(client.send_all(get_request("/files/big.bin")));
  auto whole = client.read_response();
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_TRUE(whole->body == big_);
  EXPECT_EQ(whole->header("accept-ranges"), "bytes");
  EXPECT_EQ(whole->header("content-type"), "application/octet-stream");
  EXPECT_FALSE(whole->header("date").empty());

  // HEAD then GET on the same connection: any body bytes after HEAD would
  // corrupt the second response.
  ASSERT_TRUE(client.send_all(get_request("/files/sub/hello.txt", "", "HEAD")));
  auto head = client.read_response(/*head_request=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), "6");
  ASSERT_TRUE(client.send_all(get_request("/files/sub/hello.txt")));
  auto get = client.read_response();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "hello\n");
  EXPECT_EQ(get->header("etag"), head->header("etag"));
}

TEST_F(HttpServerTest, RandomRangesMatchTheFileByteForByte) {
  start();
  TestClient client(server_->port());
  std::mt19937_64 generator(42);
  const uint64_t size = big_.size();
  for (int i = 0; i < 300; ++i) {
    uint64_t first = generator() % size;
    uint64_t last = first + generator() % std::min<uint64_t>(size - first, 300000);
    uint64_t suffix = 1 + generator() % 100000;
    std::string spec;
    uint64_t expected_first = first, expected_length = last - first + 1;
    switch (i % 3) {
      case 0:
        spec = std::to_string(first) + "-" + std::to_string(last);
        break;
      case 1:
        spec = std::to_string(first) + "-";
        expected_length = size - first;
        break;
      case 2:
        spec = "-" + std::to_string(suffix);
        expected_first = size - suffix;
        expected_length = suffix;
        break;
    }
    ASSERT_TRUE(client.send_all(get_request("/files/big.bin", "Range: bytes=" + spec + "\r\n")));
    auto response = client.read_response();
    ASSERT_TRUE(response) << spec;
    ASSERT_EQ(response->status, 206) << spec;
    EXPECT_EQ(response->header("content-range"),
              "bytes " + std::to_string(expected_first) + "-" +
                  std::to_string(expected_first + expected_length - 1) + "/" +
                  std::to_string(size));
    ASSERT_TRUE(response->body == big_.substr(expected_first, expected_length)) << spec;
  }
}

TEST_F(HttpServerTest, UnsatisfiableRangeIs416AndIgnoredRangeIsWhole) {
  start();
  auto response = fetch(get_request("/files/sub/hello.txt", "Range: bytes=6-\r\n"));
  EXPECT_EQ(response.status, 416);
  EXPECT_EQ(response.header("content-range"), "bytes */6");
  response = fetch(get_request("/files/sub/hello.txt", "Range: bytes=0-1,3-4\r\n"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "hello\n");
  // In-memory bodies honour ranges too.
  response = fetch(get_request("/hello", "Range: bytes=-6\r\n"));
  EXPECT_EQ(response.status, 206);
  EXPECT_EQ(response.body, "there\n");
}

TEST_F(HttpServerTest, EtagRevalidationAnswers304) {
  start();
  auto first = fetch(get_request("/objects/abc123.erofs"));
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.header("etag"), "\"abc123\"");
  EXPECT_EQ(first.header("cache-control"), "public, max-age=31536000, immutable");
  for (const std::string& condition : {std::string("\"abc123\""), std::string("W/\"abc123\""),
                                       std::string("\"other\", \"abc123\""), std::string("*")}) {
    auto again =
        fetch(get_request("/objects/abc123.erofs", "If-None-Match: " + condition + "\r\n"));
    EXPECT_EQ(again.status, 304) << condition;
    EXPECT_EQ(again.body, "");
    EXPECT_EQ(again.header("etag"), "\"abc123\"");
  }
  auto changed = fetch(get_request("/objects/abc123.erofs", "If-None-Match: \"old\"\r\n"));
  EXPECT_EQ(changed.status, 200);
  EXPECT_EQ(changed.body, "content addressed");
  // If-Range with a stale validator sends the whole, fresh representation.
  auto stale =
      fetch(get_request("/objects/abc123.erofs", "Range: bytes=0-3\r\nIf-Range: \"old\"\r\n"));
  EXPECT_EQ(stale.status, 200);
  auto fresh =
      fetch(get_request("/objects/abc123.erofs", "Range: bytes=0-3\r\nIf-Range: \"abc123\"\r\n"));
  EXPECT_EQ(fresh.status, 206);
  EXPECT_EQ(fresh.body, "cont");
}

TEST_F(HttpServerTest, TraversalAttemptsNeverReachOutsideTheRoot) {
  start();
  for (const std::string target :
       {"/files/../secret.txt", "/files/%2e%2e/secret.txt", "/files/%2E%2E%2Fsecret.txt",
        "/files/sub/..%2f..%2fsecret.txt", "/files/escape", "/files/..\\secret.txt", "/files/%00",
        "/files/sub%00/hello.txt", "/files//..//secret.txt", "/files/sub/../../secret.txt",
        "/files/fifo", "/files/sub", "/files/sub/", "/files/%252e%252e/secret.txt",
        "/objects/../secret.txt"}) {
    auto response = fetch(get_request(target));
    EXPECT_TRUE(response.status == 400 || response.status == 404)
        << target << " " << response.status;
    EXPECT_EQ(response.body.find("TOP-SECRET"), std::string::npos) << target;
  }
  // A raw NUL byte inside the request line.
  static const char kWithNul[] = "GET /files/sub/hello.txt\0/x HTTP/1.1\r\nHost: t\r\n\r\n";
  auto response = fetch(std::string(kWithNul, sizeof kWithNul - 1));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(fetch(get_request("/files/sub/hello.txt")).status, 200);
}

TEST_F(HttpServerTest, MalformedRequestsGetAnErrorAndTheServerGoesOn) {
  start();
  struct Case {
    std::string request;
    int status;
  };
  std::vector<Case> cases = {
      {"BLAH\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n\r\n", 400},
      {"GET /files/big.bin HTTP/3.0\r\nHost: t\r\n\r\n", 505},
      {"GET /" + std::string(20000, 'x') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
      {"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(64 << 10, 'y') + "\r\n\r\n", 431},
      {"POST /files/big.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", 413},
      {"POST /files/big.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 405},
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501},
      {"GET /throws HTTP/1.1\r\nHost: t\r\n\r\n", 500},
      {"GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n", 404},
  };
  for (const Case& c : cases) {
    auto response = fetch(c.request);
    EXPECT_EQ(response.status, c.status) << c.request.substr(0, 40);
  }
  // Random binary garbage must not crash anything.
  for (uint32_t seed = 0; seed < 20; ++seed) {
    TestClient client(server_->port());
    client.send_all(random_bytes(1000 + seed * 300, seed) + "\r\n\r\n");
    client.wait_for_close();
  }
  auto response = fetch(get_request("/files/medium.bin"));
  EXPECT_TRUE(response.body == medium_);
  expect_fds_back_to_baseline();
}

TEST_F(HttpServerTest, SilentClientsAreClosedAfterTheHeaderTimeout) {
  ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(300);
  options.idle_timeout = std::chrono::milliseconds(300);
  start(options);
  TestClient trickle(server_->port());
  ASSERT_TRUE(trickle.send_all("GET /files/big.bin HTTP/1.1\r\nHo"));
  TestClient idle(server_->port());
  EXPECT_TRUE(trickle.wait_for_close());
  EXPECT_TRUE(idle.wait_for_close());
  trickle.close();
  idle.close();
  expect_fds_back_to_baseline();
}

TEST_F(HttpServerTest, DeferredResponsesAreMadeOffTheLoopWhileOthersAreServed) {
  ServerOptions options;
  options.threads = 1;  // one event loop: a handler blocking it would stall /hello
  start(options);
  TestClient slow(server_->port());
  ASSERT_TRUE(slow.send_all(get_request("/slow?hold") + get_request("/hello")));
  auto quick = fetch(get_request("/hello"));
  EXPECT_EQ(quick.body, "hi there\n");
  EXPECT_FALSE(slow_done_) << "/hello waited for the slow response";
  release_slow_ = true;
  auto first = slow.read_response();
  auto second = slow.read_response();  // pipelined behind it, answered in order
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, "made off the loop: hold\n");
  EXPECT_EQ(second->body, "hi there\n");
  // A client that leaves before its response is made costs nothing.
  TestClient gone(server_->port());
  ASSERT_TRUE(gone.send_all(get_request("/slow?short")));
  gone.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  slow.close();
  expect_fds_back_to_baseline();
}

TEST_F(HttpServerTest, OneAddressHoldsAtMostItsShareOfConnections) {
  ServerOptions options;
  options.max_connections_per_address = 8;
  start(options);
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 30; ++i) clients.push_back(std::make_unique<TestClient>(server_->port()));
  for (int i = 0; i < 200 && server_->open_connections() < 8; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(server_->open_connections(), 8u);
  int answered = 0;
  for (auto& client : clients)
    if (client->send_all(get_request("/hello")) && client->read_response()) ++answered;
  EXPECT_EQ(answered, 8);
  clients.clear();
  expect_fds_back_to_baseline();
  EXPECT_EQ(fetch(get_request("/hello")).status, 200);  // the slots came back
}

TEST_F(HttpServerTest, ARouteWithoutABodyRefusesOneBeforeReadingIt) {
  start();
  TestClient client(server_->port());
  // The head promises a megabyte that never comes: the answer must not wait for it.
  ASSERT_TRUE(client.send_all("POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(fetch("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok").body, "POST ok");
}

TEST_F(HttpServerTest, ANewConnectionMustSendItsHeadWithinTheHeaderTimeout) {
  ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(300);
  options.idle_timeout = std::chrono::seconds(30);
  start(options);
  TestClient silent(server_->port());
  // Closed by the 300 ms head deadline: the 30 s idle one would outlast the
  // client's 10 s read timeout, and wait_for_close would fail.
  EXPECT_TRUE(silent.wait_for_close());
  silent.close();
  expect_fds_back_to_baseline();
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  TestClient client(server_->port());
  ASSERT_TRUE(client.send_all(get_request("/hello") + get_request("/files/sub/hello.txt") +
                              get_request("/hello", "Connection: close\r\n")));
  auto first = client.read_response();
  auto second = client.read_response();
  auto third = client.read_response();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->body, "hi there\n");
  EXPECT_EQ(second->body, "hello\n");
  EXPECT_EQ(third->header("connection"), "close");
  EXPECT_TRUE(client.wait_for_close());
}

TEST_F(HttpServerTest, RequestBodiesWithAndWithout100Continue) {
  start();
  TestClient client(server_->port());
  ASSERT_TRUE(client.send_all("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nreport"));
  auto plain = client.read_response();
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->body, "POST report");
  ASSERT_TRUE(client.send_all(
      "PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"));
  auto go_on = client.read_response();
  ASSERT_TRUE(go_on);
  EXPECT_EQ(go_on->status, 100);
  ASSERT_TRUE(client.send_all("ok"));
  auto final_response = client.read_response();
  ASSERT_TRUE(final_response);
  EXPECT_EQ(final_response->body, "PUT ok");
}

TEST_F(HttpServerTest, FiveHundredConcurrentConnections) {
  ServerOptions options;
  options.max_connections_per_address = 0;  // all from 127.0.0.1
  start(options);
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 500; ++i) {
    clients.push_back(std::make_unique<TestClient>(server_->port()));
    ASSERT_TRUE(clients.back()->connected()) << i;
  }
  for (auto& client : clients) ASSERT_TRUE(client->send_all(get_request("/files/medium.bin")));
  int correct = 0;
  for (auto& client : clients) {
    auto response = client->read_response();
    if (response && response->status == 200 && response->body == medium_) ++correct;
  }
  EXPECT_EQ(correct, 500);
  clients.clear();
  expect_fds_back_to_baseline();
}

TEST_F(HttpServerTest, ASlowReaderDoesNotHoldUpAFastOne) {
  ServerOptions options;
  options.threads = 1;  // one event loop: blocking on the slow reader would stall the fast one
  start(options);
  TestClient slow(server_->port(), /*receive_buffer=*/4096);
  ASSERT_TRUE(slow.send_all(get_request("/files/big.bin")));
  ASSERT_TRUE(slow.wait_readable());  // its transfer has begun
  for (int i = 0; i < 3; ++i) {
    TestClient fast(server_->port());
    ASSERT_TRUE(fast.send_all(get_request("/files/big.bin")));
    auto response = fast.read_response();
    ASSERT_TRUE(response);
    EXPECT_TRUE(response->body == big_);
  }
  // The slow reader still gets every byte, uncorrupted.
  auto rest = slow.read_response();
  ASSERT_TRUE(rest);
  EXPECT_TRUE(rest->body == big_);
}

TEST_F(HttpServerTest, ClientsVanishingMidTransferLeakNothing) {
  start();
  for (int round = 0; round < 40; ++round) {
    TestClient client(server_->port());
    ASSERT_TRUE(client.send_all(get_request("/files/big.bin")));
    client.read_raw(1000 + static_cast<size_t>(round) * 5000);
    if (round % 2) {
      client.reset();
    } else {
      client.close();
    }
  }
  // And some that leave before reading anything, mid-request.
  for (int round = 0; round < 20; ++round) {
    TestClient client(server_->port());
    client.send_all("GET /files/big.bin HTTP/1.1\r\n");
  }
  auto response = fetch(get_request("/files/big.bin"));
  EXPECT_TRUE(response.body == big_);
  expect_fds_back_to_baseline();
  std::string log = goldroot::testing::read_file(temp_ / "access.log");
  EXPECT_NE(log.find("\"aborted\":true"), std::string::npos);
}

TEST_F(HttpServerTest, AccessLogHasOneJsonObjectPerRequest) {
  start();
  fetch(get_request("/files/sub/hello.txt"));
  fetch(get_request("/nowhere"));
  server_->stop();  // joins the workers, so every line is written
  // Lines from different connections may come in either order.
  std::map<std::string, nlohmann::json> by_path;
  for (const std::string& line : split(goldroot::testing::read_file(temp_ / "access.log"), '\n'))
    if (!line.empty()) {
      auto record = nlohmann::json::parse(line);
      by_path[record["path"]] = record;
    }
  ASSERT_EQ(by_path.size(), 2u);
  const nlohmann::json& hello = by_path["/files/sub/hello.txt"];
  EXPECT_EQ(hello["method"], "GET");
  EXPECT_EQ(hello["status"], 200);
  EXPECT_EQ(hello["bytes"], 6);
  EXPECT_TRUE(hello["client"].get<std::string>().starts_with("127.0.0.1:"));
  EXPECT_TRUE(hello["time"].is_string());
  EXPECT_TRUE(hello["duration_ms"].is_number());
  EXPECT_EQ(by_path["/nowhere"]["status"], 404);
}

TEST_F(HttpServerTest, StopsWithClientsStillConnected) {
  start();
  TestClient slow(server_->port(), 4096);
  ASSERT_TRUE(slow.send_all(get_request("/files/big.bin")));
  TestClient idle(server_->port());
  slow.read_raw(100);
  server_->stop();
  EXPECT_TRUE(idle.wait_for_close());
}

}  // namespace
}  // namespace goldroot::server

namespace goldroot::server {
namespace {

TEST_F(HttpServerTest, UploadsStreamChunkedAndSizedBodiesIntoTheSink) {
  start();
  TestClient client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send_all("POST /upload/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                              chunked(big_, 3)));
  auto first = client.read_response();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, std::to_string(big_.size()));
  {
    std::lock_guard<std::mutex> lock(uploads_.mutex);
    EXPECT_TRUE(uploads_.finished == big_);
  }
  // The connection goes on: a sized upload, then an ordinary request.
  ASSERT_TRUE(client.send_all("PUT /upload/b HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                              std::to_string(medium_.size()) + "\r\n\r\n" + medium_ +
                              "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto second = client.read_response();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->body, std::to_string(medium_.size()));
  auto third = client.read_response();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->body, "hi there\n");
  std::lock_guard<std::mutex> lock(uploads_.mutex);
  EXPECT_TRUE(uploads_.finished == medium_);
  EXPECT_EQ(uploads_.aborted, 0);
}

TEST_F(HttpServerTest, AnUploadOverItsLimitIsReadToTheEndAndAnswered413) {
  start();
  // The whole body is on its way before the answer: the client must still
  // read a 413 that says why, not a reset.
  // (4 MiB: far more than the socket buffers hold.)
  auto capped = fetch("POST /upload/capped HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                      chunked(std::string(4 << 20, 'u'), 5));
  EXPECT_EQ(capped.status, 413);
  EXPECT_EQ(capped.body, "the upload is over its limit\n");
  EXPECT_EQ(capped.header("connection"), "close");
  std::lock_guard<std::mutex> lock(uploads_.mutex);
  EXPECT_EQ(uploads_.aborted, 1);  // the sink saw no finish()
}

TEST_F(HttpServerTest, RefusedFailedAndCutOffUploadsLeaveNothingBehind) {
  start();
  auto refused = fetch("POST /upload/refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(refused.status, 403);
  auto full = fetch("POST /upload/small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                    chunked(medium_, 4));
  EXPECT_EQ(full.status, 507);
  EXPECT_EQ(full.body, "no space left for the upload\n");
  auto bad = fetch("POST /upload/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n");
  EXPECT_EQ(bad.status, 400);
  auto coding = fetch("POST /upload/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n");
  EXPECT_EQ(coding.status, 501);
  {
    TestClient vanishing(server_->port());
    ASSERT_TRUE(vanishing.send_all("POST /upload/d HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" +
                                   medium_.substr(0, 5000)));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    vanishing.reset();
  }
  expect_fds_back_to_baseline();
  std::lock_guard<std::mutex> lock(uploads_.mutex);
  EXPECT_EQ(uploads_.aborted, 3);  // the full, the malformed and the vanished one
  EXPECT_TRUE(uploads_.finished.empty());
}

}  // namespace
}  // namespace goldroot::server

// TLS: the same server, router and workers behind a second listener.
namespace goldroot::server {
namespace {

TEST_F(HttpServerTest, TlsServesKeepAliveRequestsAndLargeFilesByteForByte) {
  start_tls();
  ASSERT_NE(server_->tls_port(), 0);
  ASSERT_NE(server_->tls_port(), server_->port());
  TestClient client(server_->tls_port(), 0, Wire::kTls);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send_all(get_request("/wire")));
  auto wire = client.read_response();
  ASSERT_TRUE(wire);
  EXPECT_EQ(wire->body, "tls");
  // One connection: a large file, a HEAD, ranges, a pipelined pair.
  ASSERT_TRUE(client.send_all(get_request("/files/big.bin")));
  auto whole = client.read_response();
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_TRUE(whole->body == big_);
  ASSERT_TRUE(client.send_all(get_request("/files/sub/hello.txt", "", "HEAD")));
  auto head = client.read_response(/*head_request=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("content-length"), "6");
  std::mt19937_64 generator(7);
  for (int i = 0; i < 20; ++i) {
    uint64_t first = generator() % big_.size();
    uint64_t last = std::min<uint64_t>(big_.size() - 1, first + generator() % 500000);
    ASSERT_TRUE(client.send_all(get_request(
        "/files/big.bin", "Range: bytes=" + std::to_string(first) + "-" + std::to_string(last) + "\r\n")));
    auto part = client.read_response();
    ASSERT_TRUE(part);
    ASSERT_EQ(part->status, 206);
    ASSERT_TRUE(part->body == big_.substr(first, last - first + 1));
  }
  ASSERT_TRUE(client.send_all(get_request("/hello") + get_request("/files/medium.bin")));
  auto first = client.read_response();
  auto second = client.read_response();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, "hi there\n");
  EXPECT_TRUE(second->body == medium_);
  // The plain listener goes on beside it, and says so.
  EXPECT_EQ(fetch(get_request("/wire")).body, "plain");
  client.close();
  expect_fds_back_to_baseline();
}

TEST_F(HttpServerTest, TlsUploadsStreamIntoTheSink) {
  start_tls();
  TestClient client(server_->tls_port(), 0, Wire::kTls);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send_all(
      "POST /upload/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(big_, 9)));
  auto chunked_upload = client.read_response();
  ASSERT_TRUE(chunked_upload);
  EXPECT_EQ(chunked_upload->body, std::to_string(big_.size()));
  {
    std::lock_guard<std::mutex> lock(uploads_.mutex);
    EXPECT_TRUE(uploads_.finished == big_);
  }
  // 100 Continue goes through the TLS session too.
  ASSERT_TRUE(client.send_all("PUT /upload/b HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                              "Content-Length: " + std::to_string(medium_.size()) + "\r\n\r\n"));
  auto go_on = client.read_response();
  ASSERT_TRUE(go_on);
  EXPECT_EQ(go_on->status, 100);
  ASSERT_TRUE(client.send_all(medium_));
  auto sized = client.read_response();
  ASSERT_TRUE(sized);
  EXPECT_EQ(sized->body, std::to_string(medium_.size()));
  std::lock_guard<std::mutex> lock(uploads_.mutex);
  EXPECT_TRUE(uploads_.finished == medium_);
  EXPECT_EQ(uploads_.aborted, 0);
}

TEST_F(HttpServerTest, GarbageInsteadOfAHandshakeCostsOneConnectionAndOneLogLine) {
  ServerOptions options;
  options.threads = 1;  // the garbage and the good client share one event loop
  start_tls(options);
  TestClient good(server_->tls_port(), 0, Wire::kTls);
  ASSERT_TRUE(good.connected());
  ASSERT_TRUE(good.send_all(get_request("/hello")));
  ASSERT_TRUE(good.read_response());
  std::vector<std::string> garbage = {get_request("/hello"), random_bytes(3000, 11),
                                      std::string("\x16\x03\x01\x00\x05hello", 10)};
  for (const std::string& bytes : garbage) {
    TestClient bad(server_->tls_port());
    ASSERT_TRUE(bad.send_all(bytes));
    EXPECT_TRUE(bad.wait_for_close());
  }
  // The good client's session is unharmed, mid-connection.
  ASSERT_TRUE(good.send_all(get_request("/files/medium.bin")));
  auto after = good.read_response();
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->body == medium_);
  good.close();
  expect_fds_back_to_baseline();
  server_->stop();
  int failures = 0;
  for (const std::string& line : split(goldroot::testing::read_file(temp_ / "access.log"), '\n')) {
    if (line.empty()) continue;
    auto record = nlohmann::json::parse(line);
    if (!record.contains("failure")) continue;
    ++failures;
    EXPECT_EQ(record["status"], 0);
    EXPECT_TRUE(record["failure"].get<std::string>().starts_with("TLS handshake failed: ")) << line;
  }
  EXPECT_EQ(failures, 3);
}

TEST_F(HttpServerTest, TlsConnectionsKeepTheDeadlinesAndThePerAddressLimit) {
  ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(300);
  options.idle_timeout = std::chrono::milliseconds(300);
  options.max_connections_per_address = 4;
  start_tls(options);
  // Silent before the handshake, and half a ClientHello: the head deadline.
  TestClient silent(server_->tls_port());
  TestClient half(server_->tls_port());
  ASSERT_TRUE(half.send_all(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
  EXPECT_TRUE(silent.wait_for_close());
  EXPECT_TRUE(half.wait_for_close());
  // After the handshake, an idle session: the idle deadline.
  TestClient idle(server_->tls_port(), 0, Wire::kTls);
  ASSERT_TRUE(idle.connected());
  EXPECT_TRUE(idle.wait_for_close());
  silent.close();
  half.close();
  idle.close();
  expect_fds_back_to_baseline();
  // Plain and TLS connections count together against one address.
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(std::make_unique<TestClient>(server_->port()));
  for (int i = 0; i < 5; ++i) clients.push_back(std::make_unique<TestClient>(server_->tls_port()));
  for (int i = 0; i < 200 && server_->open_connections() < 4; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(server_->open_connections(), 4u);
  clients.clear();
  expect_fds_back_to_baseline();
}

TEST_F(HttpServerTest, ASlowTlsReaderDoesNotHoldUpAFastOneAndGetsEveryByte) {
  ServerOptions options;
  options.threads = 1;  // one event loop: blocking on the slow reader would stall the fast one
  start_tls(options);
  TestClient slow(server_->tls_port(), /*receive_buffer=*/4096, Wire::kTls);
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.send_all(get_request("/files/big.bin")));
  ASSERT_TRUE(slow.wait_readable());
  for (int i = 0; i < 3; ++i) {
    TestClient fast(server_->tls_port(), 0, Wire::kTls);
    ASSERT_TRUE(fast.send_all(get_request("/files/big.bin")));
    auto response = fast.read_response();
    ASSERT_TRUE(response);
    EXPECT_TRUE(response->body == big_);
  }
  // A write that blocked mid-record went out later with the same bytes.
  auto rest = slow.read_response();
  ASSERT_TRUE(rest);
  EXPECT_TRUE(rest->body == big_);
}

TEST_F(HttpServerTest, TlsClientsVanishingMidTransferLeakNothing) {
  start_tls();
  for (int round = 0; round < 20; ++round) {
    TestClient client(server_->tls_port(), 0, Wire::kTls);
    ASSERT_TRUE(client.send_all(get_request("/files/big.bin")));
    client.read_raw(1000 + static_cast<size_t>(round) * 20000);
    if (round % 2) {
      client.reset();
    } else {
      client.close();
    }
  }
  for (int round = 0; round < 10; ++round) {
    TestClient client(server_->tls_port(), 0, Wire::kTls);
    client.send_all("GET /files/big.bin HTTP/1.1\r\n");
  }
  TestClient last(server_->tls_port(), 0, Wire::kTls);
  ASSERT_TRUE(last.send_all(get_request("/files/big.bin")));
  auto response = last.read_response();
  ASSERT_TRUE(response);
  EXPECT_TRUE(response->body == big_);
  last.close();
  expect_fds_back_to_baseline();
}

TEST_F(HttpServerTest, AMismatchedCertificateAndKeyIsRefusedAtStart) {
  testing::TempDir one, other;
  ASSERT_OK(ensure_tls_identity(one.path(), {"localhost"}));
  ASSERT_OK(ensure_tls_identity(other.path(), {"localhost"}));
  ServerOptions options;
  options.tls = TlsListenOptions{.certificate_file = tls_certificate_path(one.path()),
                                 .key_file = tls_key_path(other.path())};
  auto started = HttpServer::start(options, Router());
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("is not for the key"), std::string::npos)
      << started.error().message;
}

}  // namespace
}  // namespace goldroot::server

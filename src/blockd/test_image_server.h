// What blockd's tests share: a random image with its verity tree, served by
// goldroot's own HTTP server (StaticFiles, Range and keep-alive included)
// under /images/, counting the requests (those marked as fill too) and bytes
// asked for; it can answer 503 for a while, and stop and start again on the
// same port. Test-only.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>
#include <random>
#include <string>

#include "base/testing/testing.h"
#include "server/byte_range.h"
#include "server/http_server.h"
#include "server/static_files.h"
#include "verity/hash_tree.h"

namespace goldroot::blockd {
namespace {

class TestImageServer {
 public:
  // An image of `blocks` random 4 KiB blocks.
  explicit TestImageServer(uint64_t blocks, uint32_t seed = 7)
      : TestImageServer(testing::random_bytes(blocks * 4096, seed)) {}
  // An image of these bytes (whole 4 KiB blocks) under `salt`.
  explicit TestImageServer(std::string image, std::string salt = std::string(32, '\x5a')) {
    image_ = std::move(image);
    goldroot::testing::write_file(temp_ / "srv/image.bin", image_);
    salt_ = std::move(salt);
    auto built = build_verity_tree_of_file(temp_ / "srv/image.bin", 4096, 4096, salt_);
    if (!built.ok()) std::abort();
    tree_ = built->tree;
    goldroot::testing::write_file(temp_ / "srv/image.bin.verity", tree_);
    params_.data_blocks = image_.size() / 4096;
    params_.salt = salt_;
    params_.root_hash = built->root_hash;
  }
  ~TestImageServer() { stop(); }

  Status start() {
    server::Router router;
    auto files = TRY(server::StaticFiles::open(temp_ / "srv", "/images/"));
    router.add_prefix("/images/", [this, files](const server::HttpRequest& request) {
      requests_.fetch_add(1);
      if (request.header("x-goldroot-fill")) fill_requests_.fetch_add(1);
      if (fail_next_.load() > 0) {
        fail_next_.fetch_sub(1);
        return server::HttpResponse::text(503, "busy\n");
      }
      if (const std::string* range = request.header("range")) {
        server::RangeSelection selection = server::select_range(*range, UINT64_MAX / 2);
        if (selection.kind == server::RangeKind::kPartial) {
          bytes_asked_.fetch_add(selection.range.length);
          std::lock_guard<std::mutex> lock(mutex_);
          if (request.path == "/images/image.bin") range_starts_.push_back(selection.range.first);
        }
      }
      return files->serve(request);
    });
    server::ServerOptions options;
    options.port = port_;
    options.threads = 2;
    server_ = TRY(server::HttpServer::start(options, std::move(router)));
    port_ = server_->port();
    return {};
  }
  void stop() {
    if (server_) server_->stop();
    server_.reset();
  }

  // Changes one byte of the served image (not of the tree).
  void flip_byte(uint64_t offset) {
    int fd = ::open((temp_ / "srv/image.bin").c_str(), O_WRONLY);
    char byte = static_cast<char>(image_[offset] ^ 0x40);
    if (::pwrite(fd, &byte, 1, static_cast<off_t>(offset)) != 1) std::abort();
    ::close(fd);
  }

  // The first byte of each Range request for the image, in order.
  std::vector<uint64_t> range_starts() {
    std::lock_guard<std::mutex> lock(mutex_);
    return range_starts_;
  }

  std::string url(const std::string& name) const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/images/" + name;
  }
  std::string image_url() const { return url("image.bin"); }
  std::string tree_url() const { return url("image.bin.verity"); }

  goldroot::testing::TempDir temp_;
  std::string image_;
  std::string tree_;
  std::string salt_;
  VerityParams params_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> fill_requests_{0};  // marked "X-Goldroot-Fill"
  std::atomic<uint64_t> bytes_asked_{0};
  std::atomic<int> fail_next_{0};
  std::mutex mutex_;
  std::vector<uint64_t> range_starts_;
  std::unique_ptr<server::HttpServer> server_;
};

}  // namespace
}  // namespace goldroot::blockd

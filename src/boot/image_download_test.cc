// download_image against real HTTP servers on loopback: goldroot's own
// HttpServer (Range, sendfile) and, for interruptions, a raw socket server
// that hangs up half-way through the body.
#include "boot/image_download.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>

#include "base/testing/testing.h"
#include "server/http_server.h"
#include "server/static_files.h"

namespace goldroot::boot {
namespace {

using goldroot::testing::read_file;
using goldroot::testing::write_file;

std::string random_bytes(size_t length) {
  std::mt19937 generator(42);
  std::string bytes(length, '\0');
  for (char& c : bytes) c = static_cast<char>(generator());
  return bytes;
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

class ImageDownloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::mkdir((temp_ / "served").c_str(), 0755);
    ::mkdir((temp_ / "client").c_str(), 0755);
    image_ = random_bytes(3 * 1024 * 1024 + 17);
    write_file(temp_ / "served/image.erofs", image_);
    server::Router router;
    ASSERT_OK_AND_ASSIGN(auto files, server::StaticFiles::open(temp_ / "served", "/images/"));
    router.add_prefix("/images/", server::StaticFiles::handler(files));
    ASSERT_OK_AND_ASSIGN(server_, server::HttpServer::start({.threads = 1}, std::move(router)));
  }
  void TearDown() override { server_->stop(); }

  ImageSpec spec(const std::string& name = "image.erofs") const {
    return {.url = "http://127.0.0.1:" + std::to_string(server_->port()) + "/images/" + name,
            .sha256 = Sha256::of(image_),
            .size = image_.size()};
  }

  goldroot::testing::TempDir temp_;
  std::string image_;
  std::unique_ptr<server::HttpServer> server_;
};

TEST_F(ImageDownloadTest, DownloadsVerifiesAndRenamesIntoPlace) {
  std::string target = temp_ / "client/image.erofs";
  ASSERT_OK_AND_ASSIGN(DownloadReport report, download_image(spec(), target));
  EXPECT_EQ(report.downloaded, image_.size());
  EXPECT_EQ(report.resumed_from, 0u);
  EXPECT_EQ(read_file(target), image_);
  EXPECT_FALSE(exists(target + ".part"));

  ASSERT_OK_AND_ASSIGN(DownloadReport again, download_image(spec(), target));
  EXPECT_TRUE(again.reused);
  EXPECT_EQ(again.downloaded, 0u);
}

TEST_F(ImageDownloadTest, ResumesAPartialFileWithARangeRequest) {
  std::string target = temp_ / "client/image.erofs";
  size_t half = image_.size() / 2;
  write_file(target + ".part", image_.substr(0, half));
  ASSERT_OK_AND_ASSIGN(DownloadReport report, download_image(spec(), target));
  EXPECT_EQ(report.resumed_from, half);
  EXPECT_EQ(report.downloaded, image_.size() - half);
  EXPECT_EQ(read_file(target), image_);
}

TEST_F(ImageDownloadTest, StopsAtTheManifestSizeWhenTheServerSendsMore) {
  // The server's file is the image followed by 1 MiB of junk.
  write_file(temp_ / "served/long.erofs", image_ + std::string(1 << 20, 'x'));
  std::string target = temp_ / "client/image.erofs";
  ASSERT_OK_AND_ASSIGN(DownloadReport report, download_image(spec("long.erofs"), target));
  EXPECT_EQ(report.downloaded, image_.size());
  EXPECT_EQ(read_file(target), image_);
}

TEST_F(ImageDownloadTest, AFlippedByteIsRefusedAndDeleted) {
  std::string flipped = image_;
  flipped[flipped.size() / 3] ^= 0x01;
  write_file(temp_ / "served/flipped.erofs", flipped);
  std::string target = temp_ / "client/image.erofs";
  auto result = download_image(spec("flipped.erofs"), target);
  ASSERT_FALSE(result.ok());
  const std::string& message = result.error().message;
  EXPECT_EQ(message, "image digest mismatch: expected " + Sha256::of(image_).hex() + ", got " +
                         Sha256::of(flipped).hex() + "; refusing to mount");
  EXPECT_FALSE(exists(target));
  EXPECT_FALSE(exists(target + ".part"));
}

TEST_F(ImageDownloadTest, AStalePartialLongerThanTheImageStartsOver) {
  std::string target = temp_ / "client/image.erofs";
  write_file(target + ".part", std::string(image_.size() + 5, 'z'));
  ASSERT_OK_AND_ASSIGN(DownloadReport report, download_image(spec(), target));
  EXPECT_EQ(report.resumed_from, 0u);
  EXPECT_EQ(read_file(target), image_);
}

TEST_F(ImageDownloadTest, AMissingImageIsNotFound) {
  auto result = download_image(spec("nope.erofs"), temp_ / "client/image.erofs");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kNotFound);
}

// A server that answers the first request with the full Content-Length but
// hangs up after `cut` bytes, and honours "Range: bytes=N-" afterwards
// (unless told to ignore Range, as some proxies do).
enum class RangeSupport { kHonour, kIgnore };
class FlakyServer {
 public:
  FlakyServer(std::string body, size_t cut, RangeSupport ranges = RangeSupport::kHonour)
      : body_(std::move(body)), cut_(cut), ignore_range_(ranges == RangeSupport::kIgnore) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::listen(listener_, 8);
    socklen_t length = sizeof(address);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FlakyServer() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int requests() const { return requests_; }
  std::vector<std::string> ranges() const { return ranges_; }

 private:
  void serve() {
    while (true) {
      int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) return;
      std::string head;
      char buffer[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
        if (n <= 0) break;
        head.append(buffer, static_cast<size_t>(n));
      }
      size_t from = 0;
      size_t range = head.find("Range: bytes=");
      if (range != std::string::npos && !ignore_range_) {
        from = std::stoul(head.substr(range + 13));
        ranges_.push_back(head.substr(range + 13, head.find("\r\n", range) - range - 13));
      }
      std::string reply;
      if (from == 0)
        reply = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body_.size()) + "\r\n\r\n";
      else
        reply = "HTTP/1.1 206 Partial Content\r\nContent-Length: " + std::to_string(body_.size() - from) +
                "\r\nContent-Range: bytes " + std::to_string(from) + "-" +
                std::to_string(body_.size() - 1) + "/" + std::to_string(body_.size()) + "\r\n\r\n";
      size_t end = requests_++ == 0 ? cut_ : body_.size();
      reply += body_.substr(from, end - from);
      for (size_t done = 0; done < reply.size();) {
        ssize_t n = ::send(client, reply.data() + done, reply.size() - done, MSG_NOSIGNAL);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      ::close(client);
    }
  }

  std::string body_;
  size_t cut_;
  bool ignore_range_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> requests_{0};
  std::vector<std::string> ranges_;
  std::thread thread_;
};

TEST_F(ImageDownloadTest, AnInterruptedTransferResumesWhereItStopped) {
  size_t cut = 1'000'003;
  FlakyServer flaky(image_, cut);
  ImageSpec image{.url = "http://127.0.0.1:" + std::to_string(flaky.port()) + "/image.erofs",
                  .sha256 = Sha256::of(image_),
                  .size = image_.size()};
  std::string target = temp_ / "client/image.erofs";
  ASSERT_OK_AND_ASSIGN(DownloadReport report, download_image(image, target));
  EXPECT_EQ(read_file(target), image_);
  EXPECT_EQ(report.attempts, 2);
  EXPECT_EQ(report.downloaded, image_.size());
  ASSERT_EQ(flaky.ranges().size(), 1u);
  EXPECT_EQ(flaky.ranges()[0], std::to_string(cut) + "-");
}

TEST_F(ImageDownloadTest, AServerThatIgnoresRangeMakesItStartOver) {
  FlakyServer flaky(image_, 777'777, RangeSupport::kIgnore);
  ImageSpec image{.url = "http://127.0.0.1:" + std::to_string(flaky.port()) + "/image.erofs",
                  .sha256 = Sha256::of(image_),
                  .size = image_.size()};
  std::string target = temp_ / "client/image.erofs";
  ASSERT_OK_AND_ASSIGN(DownloadReport report, download_image(image, target));
  EXPECT_EQ(read_file(target), image_);
  EXPECT_EQ(report.attempts, 3);  // cut off, 200 to the Range request, whole file
}

}  // namespace
}  // namespace goldroot::boot

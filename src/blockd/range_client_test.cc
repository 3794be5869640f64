#include "blockd/range_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <thread>

#include "base/testing/testing.h"
#include "blockd/test_image_server.h"

namespace goldroot::blockd {
namespace {

// Answers every connection with one canned response, then closes it: the
// misbehaving servers and proxies goldroot's own server will not play.
class CannedServer {
 public:
  explicit CannedServer(std::string response) : response_(std::move(response)) {
    listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_.get(), 8) != 0 ||
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
      std::abort();
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!client.valid()) return;
        std::string request;
        char chunk[4096];
        while (request.find("\r\n\r\n") == std::string::npos) {
          ssize_t got = ::recv(client.get(), chunk, sizeof chunk, 0);
          if (got <= 0) break;
          request.append(chunk, static_cast<size_t>(got));
        }
        (void)::send(client.get(), response_.data(), response_.size(), MSG_NOSIGNAL);
      }
    });
  }
  ~CannedServer() {
    ::shutdown(listener_.get(), SHUT_RDWR);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/x"; }

 private:
  std::string response_;
  UniqueFd listener_;
  uint16_t port_ = 0;
  std::thread thread_;
};

Error fetch_error(const std::string& response, uint64_t offset, uint64_t length) {
  CannedServer server(response);
  auto client = RangeClient::create();
  std::string out(length, '\0');
  Status status = (*client)->fetch(server.url(), offset, length, out.data());
  EXPECT_FALSE(status.ok()) << response;
  return status.ok() ? Error{} : status.error();
}

TEST(RangeClientTest, FetchesExactRangesOverOneConnection) {
  range_client_global_init();
  TestImageServer server(64);
  ASSERT_OK(server.start());
  ASSERT_OK_AND_ASSIGN(auto client, RangeClient::create());
  for (uint64_t i = 0; i < 20; ++i) {
    std::string out(5000, '\0');
    ASSERT_OK(client->fetch(server.image_url(), i * 7000, out.size(), out.data()));
    EXPECT_EQ(out, server.image_.substr(i * 7000, 5000));
  }
  EXPECT_EQ(client->requests(), 20u);
  EXPECT_EQ(client->connections(), 1u);  // keep-alive

  RangeClientOptions fresh;
  fresh.reuse_connections = false;
  ASSERT_OK_AND_ASSIGN(auto no_reuse, RangeClient::create(fresh));
  for (int i = 0; i < 5; ++i) {
    std::string out(100, '\0');
    ASSERT_OK(no_reuse->fetch(server.image_url(), 0, 100, out.data()));
  }
  EXPECT_EQ(no_reuse->connections(), 5u);
}

TEST(RangeClientTest, AnswersThatAreNotTheRangeAreNeverData) {
  range_client_global_init();
  // A server ignoring Range.
  EXPECT_EQ(fetch_error("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", 2, 4).code,
            ErrorCode::kCorruption);
  // A complete 206 that is shorter than asked.
  EXPECT_EQ(fetch_error("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 2-5/10\r\n"
                        "Content-Length: 2\r\n\r\n23", 2, 4).code,
            ErrorCode::kCorruption);
  // A longer one.
  EXPECT_EQ(fetch_error("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 2-5/10\r\n"
                        "Content-Length: 6\r\n\r\n234567", 2, 4).code,
            ErrorCode::kCorruption);
  // The right length of another range.
  EXPECT_EQ(fetch_error("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 4-7/10\r\n"
                        "Content-Length: 4\r\n\r\n4567", 2, 4).code,
            ErrorCode::kCorruption);
  // Cut off mid-body: a transfer error, worth a retry.
  EXPECT_EQ(fetch_error("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 2-5/10\r\n"
                        "Content-Length: 4\r\n\r\n23", 2, 4).code,
            ErrorCode::kIo);
  EXPECT_EQ(fetch_error("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n", 2, 4).code, ErrorCode::kIo);
  EXPECT_EQ(fetch_error("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 2, 4).code,
            ErrorCode::kNotFound);
}

TEST(RangeClientTest, HttpsWithoutAPinIsRefused) {
  ASSERT_OK_AND_ASSIGN(auto client, RangeClient::create());
  char out[4];
  Status status = client->fetch("https://127.0.0.1:1/x", 0, 4, out);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(client->requests(), 0u);
}

TEST(RangeClientTest, AnUnreachableServerIsAnIoError) {
  ASSERT_OK_AND_ASSIGN(auto client, RangeClient::create());
  char out[4];
  Status status = client->fetch("http://127.0.0.1:1/x", 0, 4, out);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace goldroot::blockd

// A blocking HTTP/1.1 client over a raw socket, for the server's tests: it
// sends exactly the bytes a test wants (malformed ones included) and parses
// responses strictly, so a stray byte in a body shows up as a failure.
// With Wire::kTls the same bytes go through a TLS session (OpenSSL; the
// server's certificate is not checked — these tests are about the
// transport, the pin is the clients' business). Reads time out after 10
// seconds so a broken server fails a test instead of hanging it.
// Header-only; one client per thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "sys/unique_fd.h"

namespace goldroot::testing {

struct ParsedResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;

  std::string header(const std::string& name) const {
    auto found = headers.find(name);
    return found == headers.end() ? std::string() : found->second;
  }
};

enum class Wire { kPlain, kTls };

class TestClient {
 public:
  // `receive_buffer` > 0 shrinks SO_RCVBUF (set before connect), to play a slow reader.
  explicit TestClient(uint16_t port, int receive_buffer = 0, Wire wire = Wire::kPlain) {
    fd_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (receive_buffer > 0)
      ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    timeval timeout{10, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    if (connected_ && wire == Wire::kTls) connected_ = start_tls();
  }
  ~TestClient() { end_tls(); }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_.get(); }
  void close() {
    end_tls();
    fd_.reset();
  }
  // Closes with RST instead of FIN, like a client that crashed.
  void reset() {
    linger option{1, 0};
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &option, sizeof option);
    end_tls();
    fd_.reset();
  }

  bool send_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t sent = ssl_ ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                          : ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
  }

  // Reads one response. With `head_request` the body is not read whatever
  // Content-Length says. nullopt on EOF, timeout or a malformed response.
  std::optional<ParsedResponse> read_response(bool head_request = false) {
    size_t head_end;
    while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return std::nullopt;
    ParsedResponse response;
    std::string head = buffer_.substr(0, head_end);
    buffer_.erase(0, head_end + 4);
    std::vector<std::string> lines = split(head, '\n');
    if (lines.empty() || !starts_with(lines[0], "HTTP/1.1 ")) return std::nullopt;
    response.status = std::atoi(lines[0].c_str() + 9);
    for (size_t i = 1; i < lines.size(); ++i) {
      size_t colon = lines[i].find(':');
      if (colon == std::string::npos) return std::nullopt;
      std::string name = lines[i].substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      response.headers[name] = std::string(trim(lines[i].substr(colon + 1)));
    }
    uint64_t length = 0;
    if (!head_request && response.status != 304 && response.headers.count("content-length") &&
        !parse_uint64(response.headers["content-length"], &length))
      return std::nullopt;
    if (head_request) length = 0;
    while (buffer_.size() < length)
      if (!fill()) return std::nullopt;
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return response;
  }

  // Reads up to `count` bytes of raw stream (what the server sends).
  std::string read_raw(size_t count) {
    while (buffer_.size() < count)
      if (!fill()) break;
    std::string out = buffer_.substr(0, std::min(count, buffer_.size()));
    buffer_.erase(0, out.size());
    return out;
  }

  // Waits (up to 10 s) until the server has sent something, without reading it.
  bool wait_readable() {
    pollfd entry{fd_.get(), POLLIN, 0};
    return !buffer_.empty() || (ssl_ && SSL_pending(ssl_) > 0) || ::poll(&entry, 1, 10000) == 1;
  }

  // True when the server closes the connection (EOF or reset) before the
  // read timeout, discarding whatever it sent first.
  bool wait_for_close() {
    char chunk[4096];
    while (true) {
      if (ssl_) {
        ERR_clear_error();
        int received = SSL_read(ssl_, chunk, sizeof chunk);
        if (received > 0) continue;
        int error = SSL_get_error(ssl_, received);
        // close_notify, or a reset or EOF underneath; not a timeout.
        return error == SSL_ERROR_ZERO_RETURN || (error != SSL_ERROR_WANT_READ && errno != EAGAIN);
      }
      ssize_t received = ::recv(fd_.get(), chunk, sizeof chunk, 0);
      if (received == 0) return true;
      if (received < 0) return errno == ECONNRESET;
    }
  }

 private:
  bool fill() {
    char chunk[65536];
    ssize_t received = ssl_ ? SSL_read(ssl_, chunk, sizeof chunk)
                            : ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (received <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(received));
    return true;
  }

  bool start_tls() {
    context_ = SSL_CTX_new(TLS_client_method());
    if (!context_) return false;
    SSL_CTX_set_verify(context_, SSL_VERIFY_NONE, nullptr);
    ssl_ = SSL_new(context_);
    if (!ssl_ || SSL_set_fd(ssl_, fd_.get()) != 1) return false;
    SSL_set_tlsext_host_name(ssl_, "localhost");
    return SSL_connect(ssl_) == 1;
  }
  void end_tls() {
    if (ssl_) SSL_free(ssl_);
    if (context_) SSL_CTX_free(context_);
    ssl_ = nullptr;
    context_ = nullptr;
    ERR_clear_error();
  }

  SSL_CTX* context_ = nullptr;
  SSL* ssl_ = nullptr;
  UniqueFd fd_;
  bool connected_ = false;
  std::string buffer_;
};

inline std::string get_request(const std::string& target, const std::string& extra_headers = "",
                               const std::string& method = "GET") {
  return method + " " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n";
}

}  // namespace goldroot::testing

#include "server/transport.h"

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <cerrno>

namespace goldroot::server {

namespace {

IoResult from_syscall(ssize_t result) {
  if (result >= 0) return {IoStatus::kOk, static_cast<size_t>(result)};
  if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kAgain, 0};
  return {IoStatus::kClosed, 0};
}

class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(int socket) : socket_(socket) {}

  IoResult receive(char* buffer, size_t size) override {
    ssize_t received;
    do {
      received = ::recv(socket_, buffer, size, 0);
    } while (received < 0 && errno == EINTR);
    if (received == 0) return {IoStatus::kClosed, 0};  // EOF
    return from_syscall(received);
  }

  IoResult send(const char* data, size_t size, bool more) override {
    int flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
    ssize_t sent;
    do {
      sent = ::send(socket_, data, size, flags);
    } while (sent < 0 && errno == EINTR);
    return from_syscall(sent);
  }

  // Zero-copy: the page cache goes straight to the socket.
  IoResult send_file(int file, uint64_t offset, size_t count) override {
    off_t position = static_cast<off_t>(offset);
    ssize_t sent;
    do {
      sent = ::sendfile(socket_, file, &position, count);
    } while (sent < 0 && errno == EINTR);
    return from_syscall(sent);
  }

  IoStatus flush() override { return IoStatus::kOk; }
  void shutdown_write() override { ::shutdown(socket_, SHUT_WR); }
  bool secure() const override { return false; }

 private:
  int socket_;
};

}  // namespace

std::unique_ptr<Transport> make_plain_transport(int socket) {
  return std::make_unique<PlainTransport>(socket);
}

}  // namespace goldroot::server

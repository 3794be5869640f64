// Transport: how a Connection moves bytes over its socket — the one seam
// between the HTTP state machine and the wire. PlainTransport is recv(2),
// send(2) and zero-copy sendfile(2); TlsTransport (tls_transport.h) runs
// the same calls through OpenSSL on the same non-blocking socket.
//
// Every call is non-blocking and reports kAgain when the socket would
// block; the connection then waits for epoll (registered edge-triggered
// for both directions, so any readiness runs it again). A transport may
// *accept* bytes it could not put on the wire yet (TLS must repeat an
// unfinished record with the same bytes); such bytes count as sent, and
// flush() pushes them out — the connection calls it before it considers a
// response finished.
//
// Borrows the socket (the connection owns it and outlives the transport).
// Not thread-safe: one worker owns the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace goldroot::server {

enum class IoStatus {
  kOk,      // `bytes` moved (0 from send_file: the file ended early)
  kAgain,   // the socket would block: wait for epoll
  kClosed,  // end of stream, reset or error: close the connection
};

struct IoResult {
  IoStatus status = IoStatus::kOk;
  size_t bytes = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Up to `size` bytes into `buffer`; kClosed at the end of the stream.
  virtual IoResult receive(char* buffer, size_t size) = 0;
  // Up to `size` bytes of `data`. `more`: the caller sends more at once
  // (the head of a body), so the kernel may hold back a partial segment.
  virtual IoResult send(const char* data, size_t size, bool more) = 0;
  // Up to `count` bytes of the open file `file` from `offset`.
  virtual IoResult send_file(int file, uint64_t offset, size_t count) = 0;
  // kOk once nothing accepted is still held back.
  virtual IoStatus flush() = 0;
  // Says no more data comes, after the last response of a connection.
  virtual void shutdown_write() = 0;
  // Whether the bytes are encrypted (HttpRequest::secure).
  virtual bool secure() const = 0;
  // Why the stream failed, when that is worth a log line (a client that
  // sent something else than a TLS handshake); "" otherwise.
  virtual std::string failure() const { return {}; }
};

// recv/send/sendfile on `socket`.
std::unique_ptr<Transport> make_plain_transport(int socket);

}  // namespace goldroot::server

// TLS for the HTTP server: TlsContext is the server's certificate, key and
// protocol settings (TLS 1.2 and 1.3 only, no renegotiation, no session
// tickets: goldroot's clients make a fresh handle per request and would
// never use one); make_tls_transport wraps one accepted socket in an
// OpenSSL session that speaks through transport.h's seam.
//
// The handshake is not a separate state of the connection: the first
// receive runs it (SSL_read on an accept-state session), so it lives under
// the connection's head deadline, and SSL_ERROR_WANT_READ/WANT_WRITE become
// kAgain for either direction (the socket is registered edge-triggered for
// both, so whichever edge comes runs the connection again). File bodies are
// read with pread(2) into a buffer and written with SSL_write: the kernel
// this was written on has no kTLS, so SSL_sendfile would not be zero-copy
// either.
//
// A TlsContext is immutable once made and may be shared by every worker
// (OpenSSL's SSL_CTX is thread-safe for SSL_new); it must outlive the
// transports made from it. A transport belongs to one connection.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "server/transport.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace goldroot::server {

class TlsContext {
 public:
  // The certificate (chain) and its private key, PEM files; fails with one
  // sentence naming the file when either is unreadable or they do not match.
  static Result<std::unique_ptr<TlsContext>> load(const std::string& certificate_file,
                                                  const std::string& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return context_; }

 private:
  explicit TlsContext(SSL_CTX* context) : context_(context) {}
  SSL_CTX* context_;
};

// A server-side TLS session on `socket`; null only when OpenSSL is out of
// memory (the caller then drops the connection).
std::unique_ptr<Transport> make_tls_transport(const TlsContext& context, int socket);

// OpenSSL's reason for the newest error on this thread's queue, then
// clears the queue: "wrong version number".
std::string take_tls_error();

}  // namespace goldroot::server

#include "server/tls_transport.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace goldroot::server {

namespace {

// The plaintext one SSL_write is asked to take: one TLS record's worth, so
// the copy a blocked write must keep (see send) stays small.
constexpr size_t kRecord = 16 * 1024;
// How much of a file body one pread brings in.
constexpr size_t kFileChunk = 64 * 1024;

class TlsTransport final : public Transport {
 public:
  TlsTransport(SSL* ssl, int socket) : ssl_(ssl), socket_(socket) {}
  ~TlsTransport() override { SSL_free(ssl_); }
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  IoResult receive(char* buffer, size_t size) override {
    while (true) {
      ERR_clear_error();
      int received = SSL_read(ssl_, buffer, static_cast<int>(std::min<size_t>(size, INT32_MAX)));
      if (received > 0) return {IoStatus::kOk, static_cast<size_t>(received)};
      IoStatus status = judge(received);
      // No edge would come for input already waiting: read again at once.
      if (status == IoStatus::kAgain && errno == EINTR) continue;
      return {status, 0};
    }
  }

  // OpenSSL must be asked again with the very bytes of a write it could
  // not finish (the record is already sealed): so a blocked write's bytes
  // are copied, counted as sent, and pushed out by flush().
  IoResult send(const char* data, size_t size, bool /*more*/) override {
    IoStatus flushed = flush();
    if (flushed != IoStatus::kOk) return {flushed, 0};
    size_t total = 0;
    while (total < size) {
      size_t length = std::min(size - total, kRecord);
      ERR_clear_error();
      int written = SSL_write(ssl_, data + total, static_cast<int>(length));
      if (written > 0) {
        total += static_cast<size_t>(written);
        continue;
      }
      if (judge(written) != IoStatus::kAgain) return {IoStatus::kClosed, 0};
      unsent_.assign(data + total, length);
      total += length;
      break;
    }
    return {IoStatus::kOk, total};
  }

  IoResult send_file(int file, uint64_t offset, size_t count) override {
    IoStatus flushed = flush();
    if (flushed != IoStatus::kOk) return {flushed, 0};
    if (!file_buffer_) file_buffer_ = std::make_unique<char[]>(kFileChunk);
    size_t total = 0;
    while (total < count) {
      ssize_t got;
      do {
        got = ::pread(file, file_buffer_.get(), std::min(count - total, kFileChunk),
                      static_cast<off_t>(offset + total));
      } while (got < 0 && errno == EINTR);
      if (got < 0) return {IoStatus::kClosed, 0};
      if (got == 0) break;  // the file ended early; the connection tells
      IoResult sent = send(file_buffer_.get(), static_cast<size_t>(got), false);
      if (sent.status != IoStatus::kOk) return sent;
      total += sent.bytes;
      // Blocked: what was read and not taken is read again next turn.
      if (!unsent_.empty() || sent.bytes < static_cast<size_t>(got)) break;
    }
    return {IoStatus::kOk, total};
  }

  IoStatus flush() override {
    while (!unsent_.empty()) {
      ERR_clear_error();
      int written = SSL_write(ssl_, unsent_.data(), static_cast<int>(unsent_.size()));
      if (written <= 0) return judge(written);
      unsent_.erase(0, static_cast<size_t>(written));
    }
    return IoStatus::kOk;
  }

  // close_notify, best effort, then FIN: the client can tell a complete
  // answer from a cut connection.
  void shutdown_write() override {
    if (flush() == IoStatus::kOk) {
      ERR_clear_error();
      SSL_shutdown(ssl_);
      ERR_clear_error();
    }
    ::shutdown(socket_, SHUT_WR);
  }

  bool secure() const override { return true; }
  std::string failure() const override { return failure_; }

 private:
  // What a non-positive SSL_read/SSL_write result means for the connection.
  IoStatus judge(int result) {
    int error = SSL_get_error(ssl_, result);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return IoStatus::kAgain;
    // Something else than a TLS client (a plain HTTP request, a scanner)
    // is worth one line; a client that simply hung up is not.
    if (error == SSL_ERROR_SSL && !SSL_is_init_finished(ssl_) && failure_.empty())
      failure_ = "TLS handshake failed: " + take_tls_error();
    ERR_clear_error();  // the queue is per thread: other connections must not see it
    return IoStatus::kClosed;
  }

  SSL* ssl_;
  int socket_;
  std::string unsent_;
  std::unique_ptr<char[]> file_buffer_;
  std::string failure_;
};

struct ContextFree {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};

}  // namespace

std::string take_tls_error() {
  unsigned long code = ERR_peek_last_error();
  const char* reason = code ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  if (reason) return reason;
  return code ? "OpenSSL error " + std::to_string(code) : "no reason given";
}

Result<std::unique_ptr<TlsContext>> TlsContext::load(const std::string& certificate_file,
                                                     const std::string& key_file) {
  std::unique_ptr<SSL_CTX, ContextFree> context(SSL_CTX_new(TLS_server_method()));
  if (!context) return make_error(ErrorCode::kIo, "making a TLS context: " + take_tls_error());
  SSL_CTX* raw = context.get();
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
                               SSL_OP_CIPHER_SERVER_PREFERENCE |
                               // a client that hangs up without close_notify is EOF, not an error
                               SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_num_tickets(raw, 0);
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(raw, certificate_file.c_str()) != 1)
    return make_error(ErrorCode::kInvalidArgument,
                      "loading the TLS certificate " + certificate_file + ": " + take_tls_error());
  auto mismatch = [&] {
    ERR_clear_error();
    return make_error(ErrorCode::kInvalidArgument,
                      "the TLS certificate " + certificate_file + " is not for the key " + key_file);
  };
  if (SSL_CTX_use_PrivateKey_file(raw, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) return mismatch();
    return make_error(ErrorCode::kInvalidArgument,
                      "loading the TLS key " + key_file + ": " + take_tls_error());
  }
  if (SSL_CTX_check_private_key(raw) != 1) return mismatch();
  return std::unique_ptr<TlsContext>(new TlsContext(context.release()));
}

TlsContext::~TlsContext() { SSL_CTX_free(context_); }

std::unique_ptr<Transport> make_tls_transport(const TlsContext& context, int socket) {
  SSL* ssl = SSL_new(context.get());
  if (!ssl) {
    ERR_clear_error();
    return nullptr;
  }
  if (SSL_set_fd(ssl, socket) != 1) {
    ERR_clear_error();
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_accept_state(ssl);
  return std::make_unique<TlsTransport>(ssl, socket);
}

}  // namespace goldroot::server

// HttpServer: goldroot's HTTP/1.1 server, built for handing large immutable
// files (kernels, initrds, image artifacts) to many PXE clients at once.
// One event-loop Worker per thread (default: one per CPU), each with its own
// SO_REUSEPORT listening socket; non-blocking sockets, keep-alive, and
// zero-copy sendfile(2). With ServerOptions::tls, a second address speaks
// TLS (tls_transport.h) to the same router, on the same workers, under the
// same limits and deadlines. See connection.h for the per-client state
// machine.
// Slow responses (HttpResponse::later) run on a small blocking pool; each
// client address may hold a bounded number of connections (client_limit.h).
//
//   Router router;
//   router.add_prefix("/images/", serve_images);
//   auto server = TRY(HttpServer::start({.address = "0.0.0.0", .port = 8080},
//                                       std::move(router)));
//   ... server->port() ...; server->stop();
//
// Worker threads block SIGPIPE (a vanished client yields EPIPE instead);
// nothing else about the process is changed. The server owns its router,
// sockets and threads; `access_log` is borrowed and must outlive it.
// start/stop/port/open_connections are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "server/access_log.h"
#include "server/connection.h"
#include "server/fill_lane.h"
#include "server/router.h"
#include "server/tls_transport.h"
#include "server/worker.h"

namespace goldroot::server {

// A listener that speaks TLS, with the server's certificate and key.
struct TlsListenOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: the kernel picks one; see tls_port()
  std::string certificate_file;  // PEM
  std::string key_file;          // PEM
};

struct ServerOptions {
  std::string address = "127.0.0.1";  // IPv4 or IPv6 literal; "0.0.0.0" or "::" for all
  uint16_t port = 0;                  // 0: the kernel picks one; see port()
  int threads = 0;                    // 0: one per CPU
  size_t max_connections = 16384;
  size_t max_connections_per_address = 256;  // 0: no limit
  int blocking_threads = 4;                  // for deferred responses
  size_t max_deferred = 1024;                // queued beyond that: 503
  RequestLimits limits = {};
  std::chrono::milliseconds header_timeout{5'000};   // accept or first byte to complete head
  std::chrono::milliseconds idle_timeout{30'000};    // keep-alive wait for a request
  std::chrono::milliseconds send_timeout{60'000};    // a reader that takes nothing
  AccessLog* access_log = nullptr;
  std::optional<TlsListenOptions> tls = {};  // none: plain HTTP only
  // Boot reads before background fills (fill_lane.h); none: no lane.
  std::optional<FillLaneOptions> fill_lane = {};
};

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> start(ServerOptions options, Router router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Closes the listening sockets and every connection, then joins the
  // workers. Idempotent.
  void stop();
  uint16_t port() const { return port_; }
  uint16_t tls_port() const { return tls_port_; }  // 0 without a TLS listener
  size_t open_connections() const;

 private:
  HttpServer() = default;

  Router router_;
  std::unique_ptr<BlockingPool> pool_;
  std::unique_ptr<ClientLimit> clients_;
  std::unique_ptr<FillLane> fill_lane_;
  ConnectionSettings settings_;
  std::unique_ptr<TlsContext> tls_;
  uint16_t port_ = 0;
  uint16_t tls_port_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
};

// Raises the soft RLIMIT_NOFILE to the hard limit, so a server can hold
// thousands of clients; call it from main.
Status raise_open_file_limit();

}  // namespace goldroot::server

#include "server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace goldroot::server {

namespace {

constexpr int kListenBacklog = 4096;

Result<UniqueFd> listen_on(const std::string& address, uint16_t port) {
  sockaddr_storage storage{};
  socklen_t length;
  std::string host = address;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.find(':') != std::string::npos) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) != 1)
      return make_error(ErrorCode::kInvalidArgument, "not an IP address: " + address);
    length = sizeof *v6;
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) != 1)
      return make_error(ErrorCode::kInvalidArgument, "not an IP address: " + address);
    length = sizeof *v4;
  }
  UniqueFd fd(::socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errno_error("socket", errno);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    return errno_error("SO_REUSEPORT", errno);
  std::string where = address + ":" + std::to_string(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0)
    return errno_error("binding " + where, errno);
  if (::listen(fd.get(), kListenBacklog) != 0) return errno_error("listening on " + where, errno);
  return fd;
}

Result<uint16_t> bound_port(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0)
    return errno_error("getsockname", errno);
  if (storage.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

}  // namespace

Status raise_open_file_limit() {
  rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return errno_error("getrlimit", errno);
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return errno_error("setrlimit", errno);
  return {};
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(ServerOptions options, Router router) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->router_ = std::move(router);
  ConnectionSettings& settings = server->settings_;
  settings.router = &server->router_;
  settings.access_log = options.access_log;
  server->pool_ = std::make_unique<BlockingPool>(std::max(options.blocking_threads, 1),
                                                 options.max_deferred);
  settings.pool = server->pool_.get();
  if (options.max_connections_per_address > 0) {
    server->clients_ = std::make_unique<ClientLimit>(options.max_connections_per_address);
    settings.clients = server->clients_.get();
  }
  if (options.fill_lane) {
    server->fill_lane_ = std::make_unique<FillLane>(*options.fill_lane);
    settings.fill_lane = server->fill_lane_.get();
  }
  settings.limits = options.limits;
  settings.header_timeout = options.header_timeout;
  settings.idle_timeout = options.idle_timeout;
  settings.send_timeout = options.send_timeout;

  int threads =
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  size_t per_worker = options.max_connections / static_cast<size_t>(threads) + 1;
  if (options.tls)
    server->tls_ = TRY(TlsContext::load(options.tls->certificate_file, options.tls->key_file));
  uint16_t port = options.port;
  uint16_t tls_port = options.tls ? options.tls->port : 0;
  for (int i = 0; i < threads; ++i) {
    // The first socket may get a kernel-chosen port; the rest share it.
    std::vector<Listener> listeners;
    listeners.push_back({TRY(listen_on(options.address, port)), nullptr});
    if (i == 0) port = TRY(bound_port(listeners.back().socket.get()));
    if (options.tls) {
      listeners.push_back({TRY(listen_on(options.tls->address, tls_port)), server->tls_.get()});
      if (i == 0) tls_port = TRY(bound_port(listeners.back().socket.get()));
    }
    server->workers_.push_back(TRY(Worker::create(std::move(listeners), &settings, per_worker)));
  }
  server->port_ = port;
  server->tls_port_ = tls_port;

  // Threads inherit the signal mask: block SIGPIPE in the workers only.
  sigset_t block, previous;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &block, &previous);
  for (auto& worker : server->workers_)
    server->threads_.emplace_back([raw = worker.get()] { raw->run(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return server;
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::stop() {
  for (auto& worker : workers_) worker->stop();
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
  threads_.clear();
  // Jobs still running post to their workers: stop them before those go.
  if (pool_) pool_->stop();
  workers_.clear();
}

size_t HttpServer::open_connections() const {
  size_t total = 0;
  for (const auto& worker : workers_) total += worker->connection_count();
  return total;
}

}  // namespace goldroot::server

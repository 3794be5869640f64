#include "server/worker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <exception>

#include "net/address.h"

namespace goldroot::server {

namespace {

constexpr int kMaxEvents = 256;
constexpr int kMaxAcceptsPerTurn = 64;
constexpr auto kSweepInterval = std::chrono::milliseconds(250);
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// Queue at most this much data the receiver's window cannot take yet.
// Without a limit, sendfile fills the whole send buffer, the excess waits
// for window updates, and the kernel then transmits it in small pieces from
// the *reader's* context each time the reader frees some window. With it,
// the socket reports writable only when the pipe is nearly drained, and
// each sendfile goes out at once in large segments: on the loopback
// benchmark this alone took goldroot from ~0.86x nginx to about parity.
constexpr int kNotSentLowWater = 128 * 1024;

std::string peer_name(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (address.ss_family == AF_INET) {
    auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    port = ntohs(v4->sin_port);
    return std::string(text) + ":" + std::to_string(port);
  }
  if (address.ss_family == AF_INET6) {
    auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    port = ntohs(v6->sin6_port);
  }
  return "[" + std::string(text) + "]:" + std::to_string(port);
}

}  // namespace

Result<std::unique_ptr<Worker>> Worker::create(std::vector<Listener> listeners,
                                               const ConnectionSettings* settings,
                                               size_t max_connections) {
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) return errno_error("epoll_create1", errno);
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) return errno_error("eventfd", errno);
  std::vector<int> fds = {wake.get()};
  for (const Listener& listener : listeners) fds.push_back(listener.socket.get());
  for (int fd : fds) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &event) != 0)
      return errno_error("epoll_ctl", errno);
  }
  return std::unique_ptr<Worker>(new Worker(std::move(listeners), std::move(epoll),
                                            std::move(wake), settings, max_connections));
}

Worker::Worker(std::vector<Listener> listeners, UniqueFd epoll, UniqueFd wake,
               const ConnectionSettings* settings, size_t max_connections)
    : listeners_(std::move(listeners)),
      epoll_(std::move(epoll)),
      wake_(std::move(wake)),
      settings_(settings),
      max_connections_(max_connections) {}

void Worker::post(int fd, uint64_t id, HttpResponse response) {
  {
    std::lock_guard lock(completed_mutex_);
    completed_.push_back(Completed{fd, id, std::move(response)});
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t ignored = ::write(wake_.get(), &one, sizeof one);
}

void Worker::defer(Connection& connection, Clock::time_point now) {
  auto work = connection.take_work();
  bool queued = settings_->pool &&
                settings_->pool->submit([this, fd = connection.fd(), id = connection.id(),
                                         work = std::move(work)] {
                  HttpResponse response;
                  try {
                    response = work();
                  } catch (const std::exception&) {
                    response = HttpResponse::error(500);
                  }
                  post(fd, id, std::move(response));
                });
  if (!queued) {
    connection.complete(HttpResponse::text(503, "the server is busy; try again\n")
                            .with_header("Retry-After", "1"),
                        now, current_date());
    run_connection(connection.fd(), now);
  }
}

void Worker::deliver_completed(Clock::time_point now) {
  uint64_t count;
  [[maybe_unused]] ssize_t ignored = ::read(wake_.get(), &count, sizeof count);
  std::vector<Completed> completed;
  {
    std::lock_guard lock(completed_mutex_);
    completed.swap(completed_);
  }
  for (Completed& done : completed) {
    auto found = connections_.find(done.fd);
    // Gone meanwhile (deadline, reset), or the fd now belongs to another.
    if (found == connections_.end() || found->second->id() != done.id) continue;
    found->second->complete(std::move(done.response), now, current_date());
    run_connection(done.fd, now);
  }
}

void Worker::stop() {
  stopping_ = true;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t ignored = ::write(wake_.get(), &one, sizeof one);
}

const std::string& Worker::current_date() {
  int64_t second = static_cast<int64_t>(std::time(nullptr));
  if (second != date_second_) {
    date_ = http_date_now();
    date_second_ = second;
  }
  return date_;
}

void Worker::set_accepting(bool accepting) {
  if (accepting == accepting_) return;
  for (const Listener& listener : listeners_) {
    epoll_event event{};
    event.events = accepting ? static_cast<uint32_t>(EPOLLIN) : 0u;
    event.data.fd = listener.socket.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, listener.socket.get(), &event);
  }
  accepting_ = accepting;
}

const Listener* Worker::listener_on(int fd) const {
  for (const Listener& listener : listeners_)
    if (listener.socket.get() == fd) return &listener;
  return nullptr;
}

void Worker::accept_clients(const Listener& listener, Clock::time_point now) {
  for (int accepted = 0; accepted < kMaxAcceptsPerTurn; ++accepted) {
    if (connections_.size() >= max_connections_) {
      set_accepting(false);
      resume_accepting_at_ = now + kAcceptPause;
      return;
    }
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    int fd = ::accept4(listener.socket.get(), reinterpret_cast<sockaddr*>(&address), &length,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        set_accepting(false);
        resume_accepting_at_ = now + kAcceptPause;
      }
      return;  // EAGAIN, or paused
    }
    UniqueFd socket(fd);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &kNotSentLowWater, sizeof kNotSentLowWater);
    std::string peer = peer_name(address);
    std::optional<ClientLimit::Slot> slot;
    if (settings_->clients) {
      slot = settings_->clients->acquire(std::string(host_of_authority(peer)));
      // Over its limit: closed before it costs a buffer.
      if (!slot) continue;
    }
    std::unique_ptr<Transport> transport =
        listener.tls ? make_tls_transport(*listener.tls, fd) : make_plain_transport(fd);
    if (!transport) continue;  // out of memory: this client goes, the server stays
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) continue;
    connections_[fd] = std::make_unique<Connection>(std::move(socket), std::move(transport),
                                                    std::move(peer), settings_, std::move(slot),
                                                    next_id_++);
    connection_count_ = connections_.size();
    // The request may already be waiting; the edge for it has passed.
    run_connection(fd, now);
  }
}

void Worker::run_connection(int fd, Clock::time_point now) {
  auto found = connections_.find(fd);
  if (found == connections_.end()) return;
  Connection& connection = *found->second;
  switch (connection.step(now, current_date())) {
    case Connection::Progress::kWaiting:
      return;
    case Connection::Progress::kYielded:
      if (!connection.queued) {
        connection.queued = true;
        run_again_.push_back(fd);
      }
      return;
    case Connection::Progress::kDeferred:
      defer(connection, now);
      return;
    case Connection::Progress::kThrottled:
      if (!connection.throttled) {
        connection.throttled = true;
        throttled_.push({connection.resume_at(), fd, connection.id()});
      }
      return;
    case Connection::Progress::kClosed:
      connections_.erase(found);
      connection_count_ = connections_.size();
      return;
  }
}

void Worker::resume_throttled(Clock::time_point now) {
  // Taken off first: one that is throttled again goes back for later.
  std::vector<Throttled> due_now;
  while (!throttled_.empty() && throttled_.top().resume_at <= now) {
    due_now.push_back(throttled_.top());
    throttled_.pop();
  }
  for (const Throttled& due : due_now) {
    auto found = connections_.find(due.fd);
    if (found == connections_.end() || found->second->id() != due.id) continue;
    found->second->throttled = false;
    run_connection(due.fd, now);
  }
}

int Worker::wait_milliseconds(Clock::time_point now, Clock::time_point next_sweep) const {
  if (!run_again_.empty()) return 0;
  Clock::time_point until = next_sweep;
  if (!throttled_.empty()) until = std::min(until, throttled_.top().resume_at);
  if (until <= now) return 0;
  // Rounded up: waking a little early would only spin.
  auto wait = std::chrono::ceil<std::chrono::milliseconds>(until - now);
  return static_cast<int>(std::min<int64_t>(wait.count(), kSweepInterval.count()));
}

void Worker::close_expired(Clock::time_point now) {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (it->second->expired(now)) {
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
  connection_count_ = connections_.size();
}

void Worker::run() {
  epoll_event events[kMaxEvents];
  Clock::time_point next_sweep = Clock::now() + kSweepInterval;
  while (!stopping_) {
    int timeout = wait_milliseconds(Clock::now(), next_sweep);
    int count = ::epoll_wait(epoll_.get(), events, kMaxEvents, timeout);
    if (count < 0 && errno != EINTR) break;
    Clock::time_point now = Clock::now();
    for (int i = 0; i < count; ++i) {
      int fd = events[i].data.fd;
      if (fd == wake_.get()) {
        deliver_completed(now);
        continue;
      }
      if (const Listener* listener = listener_on(fd)) {
        accept_clients(*listener, now);
      } else {
        run_connection(fd, now);
      }
    }
    resume_throttled(now);
    // Give each yielded connection one more turn, in arrival order.
    for (size_t pending = run_again_.size(); pending > 0; --pending) {
      int fd = run_again_.front();
      run_again_.pop_front();
      auto found = connections_.find(fd);
      if (found == connections_.end() || !found->second->queued) continue;
      found->second->queued = false;
      run_connection(fd, now);
    }
    if (now >= next_sweep) {
      close_expired(now);
      next_sweep = now + kSweepInterval;
      if (!accepting_ && now >= resume_accepting_at_ && connections_.size() < max_connections_)
        set_accepting(true);
    }
  }
  connections_.clear();
  run_again_.clear();
  throttled_ = {};
  connection_count_ = 0;
}

}  // namespace goldroot::server

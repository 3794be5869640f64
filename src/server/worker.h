// Worker: one event loop on one thread. It owns its listening sockets (one
// per worker and address, bound with SO_REUSEPORT so the kernel spreads new
// clients evenly; each plain or TLS), an epoll instance, and the
// connections it accepted, whatever listener they came through.
//
// Connections are edge-triggered; a connection that used its turn budget is
// queued to run again after the others had a turn. Every quarter second
// the loop closes connections whose deadline passed. When it runs out of
// file descriptors or reaches its connection limit it pauses accepting
// (clients wait in the listen backlog) instead of spinning.
//
// A fill held back by the fill lane (fill_lane.h) goes on a list ordered by
// when it may send again; the loop sleeps no longer than the first of those
// and runs each then, so a waiting fill costs no thread and no other
// connection waits for it.
//
// A connection whose response is deferred (HttpResponse::later) hands its
// work to the blocking pool; the pool thread posts the finished response
// back (post()) and wakes the loop, which sends it.
//
// run() is called on the worker's own thread; stop(), post() and
// connection_count() from any thread.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "server/connection.h"
#include "server/tls_transport.h"
#include "sys/unique_fd.h"

namespace goldroot::server {

struct Listener {
  UniqueFd socket;
  const TlsContext* tls = nullptr;  // null: plain HTTP; else borrowed, outlives the worker
};

class Worker {
 public:
  static Result<std::unique_ptr<Worker>> create(std::vector<Listener> listeners,
                                                const ConnectionSettings* settings,
                                                size_t max_connections);
  void run();
  void stop();
  size_t connection_count() const { return connection_count_.load(); }
  // A deferred response for connection `id` on `fd`.
  void post(int fd, uint64_t id, HttpResponse response);

 private:
  Worker(std::vector<Listener> listeners, UniqueFd epoll, UniqueFd wake,
         const ConnectionSettings* settings, size_t max_connections);

  // The listener on `fd`, or null.
  const Listener* listener_on(int fd) const;
  void accept_clients(const Listener& listener, Clock::time_point now);
  void set_accepting(bool accepting);
  void run_connection(int fd, Clock::time_point now);
  void close_expired(Clock::time_point now);
  void defer(Connection& connection, Clock::time_point now);
  void deliver_completed(Clock::time_point now);
  // Runs the throttled fills whose time has come.
  void resume_throttled(Clock::time_point now);
  // How long epoll may sleep: until the next sweep or throttled fill.
  int wait_milliseconds(Clock::time_point now, Clock::time_point next_sweep) const;
  const std::string& current_date();

  std::vector<Listener> listeners_;
  UniqueFd epoll_;
  UniqueFd wake_;
  const ConnectionSettings* settings_;
  size_t max_connections_;
  std::unordered_map<int, std::unique_ptr<Connection>> connections_;
  std::deque<int> run_again_;
  struct Throttled {
    Clock::time_point resume_at;
    int fd;
    uint64_t id;
    bool operator>(const Throttled& other) const { return resume_at > other.resume_at; }
  };
  std::priority_queue<Throttled, std::vector<Throttled>, std::greater<Throttled>> throttled_;
  std::atomic<size_t> connection_count_{0};
  std::atomic<bool> stopping_{false};
  bool accepting_ = true;
  Clock::time_point resume_accepting_at_;
  std::string date_;
  int64_t date_second_ = -1;
  uint64_t next_id_ = 1;

  struct Completed {
    int fd;
    uint64_t id;
    HttpResponse response;
  };
  std::mutex completed_mutex_;
  std::vector<Completed> completed_;
};

}  // namespace goldroot::server

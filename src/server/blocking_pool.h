// BlockingPool: a few threads for the work an event loop must not do —
// rendering a host's layer, building an initrd, writing to SQLite. Jobs
// run in submission order; the queue is bounded, so a flood of slow
// requests is refused (the server answers 503) instead of piling up.
//
// stop() drops the jobs still queued and joins the threads after their
// current job. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace goldroot::server {

class BlockingPool {
 public:
  BlockingPool(int threads, size_t max_queued);
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // False (and `job` dropped) when the queue is full or the pool stopped.
  bool submit(std::function<void()> job);
  void stop();

 private:
  void run();

  size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace goldroot::server

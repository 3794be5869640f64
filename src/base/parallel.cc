#include "base/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace goldroot {

namespace {
std::atomic<unsigned> io_thread_count{16};
}

unsigned io_threads() { return io_thread_count.load(); }

void set_io_threads(unsigned threads) {
  if (threads >= 1 && threads <= 256) io_thread_count = threads;
}

Status parallel_for(size_t count, unsigned threads, const std::function<Status(size_t)>& job,
                    const std::function<void(size_t)>& progress) {
  threads = std::max(threads, 1u);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::optional<Error> first_error;
  auto worker = [&] {
    while (!failed) {
      size_t i = next++;
      if (i >= count) return;
      Status status = job(i);
      if (!status.ok()) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::move(status).error();
        failed = true;
        return;
      }
    }
  };
  if (!progress) {
    // No one to report to: the calling thread works too, and the call
    // returns as soon as the last job does.
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads && t < count; ++t) pool.emplace_back(worker);
    worker();
    for (std::thread& thread : pool) thread.join();
  } else {
    // The calling thread reports progress every 50 ms and is woken when
    // the last worker finishes, not at the next tick.
    std::mutex done_mutex;
    std::condition_variable done;
    size_t running = threads;
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        worker();
        std::lock_guard lock(done_mutex);
        if (--running == 0) done.notify_one();
      });
    std::unique_lock lock(done_mutex);
    while (running != 0) {
      progress(std::min(next.load(), count));
      done.wait_for(lock, std::chrono::milliseconds(50), [&] { return running == 0; });
    }
    lock.unlock();
    for (std::thread& thread : pool) thread.join();
  }
  if (first_error) return std::move(*first_error);
  return {};
}

}  // namespace goldroot

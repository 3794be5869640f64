// Running I/O-bound loops on several threads. Import, checkout, export and
// the overlay readers use them because a cold disk (above all a virtual
// one) answers many reads in flight far faster than one after another.
//   parallel_for: job(0) … job(count-1) on a pool;
//   parallel_walk: a tree walk whose visits queue more items.
// Both stop handing out work at the first failure and return that error.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/result.h"

namespace goldroot {

// Threads for I/O-bound work: 16 unless main set another count (goldroot
// reads $GOLDROOT_IO_THREADS, 1–256).
unsigned io_threads();
void set_io_threads(unsigned threads);

// `progress` (may be empty) is called from the calling thread about every
// 50 ms with the number of jobs handed out so far.
Status parallel_for(size_t count, unsigned threads, const std::function<Status(size_t)>& job,
                    const std::function<void(size_t started)>& progress = {});

// Runs `visit` on every item reachable from `first`: visit may push more
// items (a walk of a tree). Items run on up to `threads` threads; returns
// the first error.
template <class Item>
Status parallel_walk(Item first, size_t threads,
                     const std::function<Status(Item&, std::vector<Item>& more)>& visit) {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<Item> queue;
  queue.push_back(std::move(first));
  size_t active = 0;
  std::optional<Error> failure;
  auto work = [&] {
    std::unique_lock lock(mutex);
    for (;;) {
      wake.wait(lock, [&] { return failure || !queue.empty() || active == 0; });
      if (failure || queue.empty()) break;  // failed, or nothing queued nor running
      Item item = std::move(queue.front());
      queue.pop_front();
      ++active;
      lock.unlock();
      std::vector<Item> more;
      Status status = visit(item, more);
      lock.lock();
      --active;
      if (!status.ok() && !failure) failure = std::move(status).error();
      for (Item& next : more) queue.push_back(std::move(next));
      wake.notify_all();
    }
    wake.notify_all();
  };
  std::vector<std::thread> pool;
  for (size_t i = 1; i < threads; ++i) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  if (failure) return std::move(*failure);
  return {};
}

}  // namespace goldroot

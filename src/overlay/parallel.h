// Small helpers to run I/O-bound loops on several threads. Reading an upper
// dir or a stored tree on a cold cache is mostly waiting for the disk, and
// several requests in flight shorten that wait even on two cores.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/result.h"

namespace goldroot {

// Requests kept in flight by the overlay readers. Measured on the v1 -> v2
// bench (virtio disk, cold): 16 reads the upper ~30% faster than 8.
constexpr size_t kIoThreads = 16;

// Runs `task(i)` for i in [0, count) on up to `threads` threads; returns the
// first error (and starts no new task after it).
Status parallel_for(size_t count, size_t threads, const std::function<Status(size_t)>& task);

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

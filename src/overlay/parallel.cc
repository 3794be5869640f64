#include "overlay/parallel.h"

#include <algorithm>
#include <atomic>

namespace goldroot {

Status parallel_for(size_t count, size_t threads, const std::function<Status(size_t)>& task) {
  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::optional<Error> failure;
  auto work = [&] {
    for (size_t i = next++; i < count; i = next++) {
      Status status = task(i);
      if (!status.ok()) {
        std::lock_guard lock(mutex);
        if (!failure) failure = std::move(status).error();
        next = count;
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < std::min(threads, count); ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  if (failure) return std::move(*failure);
  return {};
}

}  // namespace goldroot

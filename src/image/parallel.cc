#include "image/parallel.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace goldroot {

unsigned io_threads() {
  if (const char* value = std::getenv("GOLDROOT_IO_THREADS")) {
    int n = std::atoi(value);
    if (n >= 1 && n <= 256) return static_cast<unsigned>(n);
  }
  return 16;
}

Status parallel_for(size_t count, unsigned threads, const std::function<Status(size_t)>& job,
                    const std::function<void(size_t)>& progress) {
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
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
  while (next < count && !failed) {
    if (progress) progress(std::min(next.load(), count));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (std::thread& thread : pool) thread.join();
  if (first_error) return std::move(*first_error);
  return {};
}

}  // namespace goldroot

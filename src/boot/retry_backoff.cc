#include "boot/retry_backoff.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "boot/files.h"

namespace goldroot::boot {

bool is_refusal(const Error& error) {
  return error.code == ErrorCode::kNotFound || error.code == ErrorCode::kPermissionDenied ||
         error.code == ErrorCode::kBusy;
}

RetryAdvice advise_retry(const std::string& run_dir, const std::string& answer, int64_t base) {
  RetryAdvice advice{base, false};
  auto last = read_whole_file(run_dir + "/refused");
  if (last.ok()) {
    size_t newline = last->find('\n');
    int64_t last_wait = std::atoll(last->substr(0, newline).c_str());
    advice.wait_seconds = std::clamp(last_wait * 2, base, std::max(base, kRetryCapSeconds));
    advice.same_answer = newline != std::string::npos && last->substr(newline + 1) == answer;
  }
  // Best effort: without them the glue waits its own goldroot.retry.
  (void)make_directory(run_dir);
  (void)write_file_atomically(run_dir + "/refused",
                              std::to_string(advice.wait_seconds) + "\n" + answer);
  (void)write_file_atomically(run_dir + "/retry", std::to_string(advice.wait_seconds) + "\n");
  return advice;
}

void forget_refusals(const std::string& run_dir) {
  ::unlink((run_dir + "/refused").c_str());
  ::unlink((run_dir + "/retry").c_str());
}

}  // namespace goldroot::boot

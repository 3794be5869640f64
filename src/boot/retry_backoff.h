// How long a refused machine waits before it asks again. goldroot-boot
// runs once per attempt and the initramfs glue loops around it, so this is
// the memory between attempts, kept in the run directory (a tmpfs):
//
//   RUN/retry     the seconds the glue sleeps before the next attempt;
//                 absent: its own goldroot.retry
//   RUN/refused   the wait just given, then the server's answer
//
// When the server answers "no" — 404 (unknown MAC, under --unknown
// registration), 403 (a key that waits for the admin, or is refused), 429
// (too many unregistered machines) — the wait starts at goldroot.retry and
// doubles while the refusals go on, up to kRetryCapSeconds, so a room of
// machines waiting for the admin does not ask every 20 seconds forever.
// The answer is printed once per change; a repeat gets one short line.
// Anything else (the server unreachable, a bad manifest) and a boot that
// got its manifest start over at goldroot.retry. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace goldroot::boot {

constexpr int64_t kRetryCapSeconds = 300;

// The server answered, and refused this machine (see above).
bool is_refusal(const Error& error);

struct RetryAdvice {
  int64_t wait_seconds = 0;
  bool same_answer = false;  // the last attempt got this answer too: it is on screen
};

// Records refusal `answer` in `run_dir` and says how long to wait: `base`
// after anything but a refusal, double the last wait after one, at most
// kRetryCapSeconds (nor less than `base`).
RetryAdvice advise_retry(const std::string& run_dir, const std::string& answer, int64_t base);
// Forgets the refusals: the next one waits `base` again.
void forget_refusals(const std::string& run_dir);

}  // namespace goldroot::boot

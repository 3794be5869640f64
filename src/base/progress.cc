#include "base/progress.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "base/strings.h"

namespace goldroot {

namespace {
std::atomic<bool> allowed{true};
}

void Progress::allow(bool value) { allowed = value; }

bool Progress::enabled_for_stderr() { return allowed && isatty(STDERR_FILENO); }

Progress::Progress(std::string label) : label_(std::move(label)), enabled_(enabled_for_stderr()) {}

Progress::~Progress() { finish(); }

void Progress::update(uint64_t items, uint64_t bytes) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  drawn_ = true;
  std::fprintf(stderr, "\r\033[K%s: %llu entries, %s", label_.c_str(),
               static_cast<unsigned long long>(items), human_bytes(bytes).c_str());
  std::fflush(stderr);
}

void Progress::finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace goldroot

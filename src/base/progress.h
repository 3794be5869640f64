// Progress draws a one-line counter on stderr while a long operation runs,
// only when stderr is a terminal and main did not turn it off (goldroot does
// when $CI is set); in pipes it is silent.
// Not thread-safe: update it from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace goldroot {

class Progress {
 public:
  explicit Progress(std::string label);
  ~Progress();

  // Redraws at most every 100 ms.
  void update(uint64_t items, uint64_t bytes);
  void finish();

  static bool enabled_for_stderr();
  static void allow(bool allowed);

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace goldroot

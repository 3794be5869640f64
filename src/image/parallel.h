// parallel_for: runs job(0) … job(count-1) on a pool of I/O threads, stops
// handing out work at the first failure and returns that error. Import and
// checkout use it because a cold disk (above all a virtual one) answers
// many reads in flight far faster than one after another.
#pragma once

#include <cstddef>
#include <functional>

#include "base/result.h"

namespace goldroot {

// Threads for I/O-bound work: $GOLDROOT_IO_THREADS (1–256), else 16.
unsigned io_threads();

// `progress` (may be empty) is called from the calling thread about every
// 50 ms with the number of jobs handed out so far.
Status parallel_for(size_t count, unsigned threads, const std::function<Status(size_t)>& job,
                    const std::function<void(size_t started)>& progress = {});

}  // namespace goldroot

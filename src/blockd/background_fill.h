// BackgroundFill: the thread that copies the rest of the image into a disk
// cache while the machine runs, so it can stop depending on the server
// (the live move). One unit at a time, only while no foreground read waits
// for the network, at idle CPU and I/O priority; the boot's read set
// (ReadSet::previous, else what this boot has recorded) first, then every
// unit in ascending order. A pass that leaves blocks missing (they failed
// verification) is repeated after `retry_pass`.
//
// When every data and tree block is present and verified, the cache map is
// made durable and `on_complete` runs once, on the fill thread (the daemon
// does the live move there or signals its main thread).
//
// start()/stop() from one thread; complete() from any.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "blockd/read_set.h"
#include "blockd/verifying_source.h"

namespace goldroot::blockd {

struct FillOptions {
  // After a foreground read waited, let the reads have the line this long
  // before the next unit (a boot reads in bursts).
  std::chrono::milliseconds after_foreground{200};
  std::chrono::milliseconds retry_pass{30000};
  bool idle_priority = true;
};

class BackgroundFill {
 public:
  BackgroundFill(VerifyingSource* source, const ReadSet* read_set, FillOptions options,
                 std::function<void()> on_complete);
  ~BackgroundFill();  // stop()
  BackgroundFill(const BackgroundFill&) = delete;
  BackgroundFill& operator=(const BackgroundFill&) = delete;

  void start();
  // Asks the thread to finish its unit and joins it.
  void stop();
  bool complete() const { return source_->complete(); }
  // Units fetched by the fill so far.
  uint64_t units_filled() const { return units_filled_.load(std::memory_order_relaxed); }

 private:
  void run();
  // False once stop() was called; waits while foreground reads need the line.
  bool wait_turn();
  void fill(uint64_t unit);
  bool unit_missing(uint64_t unit) const;

  VerifyingSource* source_;
  const ReadSet* read_set_;
  FillOptions options_;
  std::function<void()> on_complete_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<uint64_t> units_filled_{0};
};

// Gives the calling thread idle CPU (nice 19) and I/O (IOPRIO_CLASS_IDLE)
// priority; best effort.
void make_thread_idle_priority();

}  // namespace goldroot::blockd

#include "blockd/background_fill.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/ioprio.h>

namespace goldroot::blockd {

void make_thread_idle_priority() {
  pid_t thread = static_cast<pid_t>(::syscall(SYS_gettid));
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(thread), 19);
  (void)::syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, thread,
                  IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0));
}

BackgroundFill::BackgroundFill(VerifyingSource* source, const ReadSet* read_set,
                               FillOptions options, std::function<void()> on_complete)
    : source_(source),
      read_set_(read_set),
      options_(options),
      on_complete_(std::move(on_complete)) {}

BackgroundFill::~BackgroundFill() { stop(); }

void BackgroundFill::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void BackgroundFill::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

bool BackgroundFill::wait_turn() {
  std::unique_lock<std::mutex> lock(mutex_);
  bool waited = false;
  while (!stopping_ && source_->foreground_waiting() > 0) {
    waited = true;
    wake_.wait_for(lock, std::chrono::milliseconds(10));
  }
  if (waited && !stopping_) wake_.wait_for(lock, options_.after_foreground, [this] { return stopping_; });
  return !stopping_;
}

bool BackgroundFill::unit_missing(uint64_t unit) const {
  BlockCache* cache = source_->cache();
  uint64_t first = unit * source_->blocks_per_unit();
  uint64_t end = std::min(first + source_->blocks_per_unit(), cache->data_blocks());
  for (uint64_t b = first; b < end; ++b)
    if (!cache->present(b)) return true;
  return false;
}

void BackgroundFill::fill(uint64_t unit) {
  if (!unit_missing(unit)) return;
  // A corrupt block is logged and counted by the source; the pass goes on.
  (void)source_->fill_unit(unit);
  units_filled_.fetch_add(1, std::memory_order_relaxed);
}

void BackgroundFill::run() {
  if (options_.idle_priority) make_thread_idle_priority();
  const uint64_t per_unit = source_->blocks_per_unit();
  // An update patch first: it brings most of what an older image lacks in
  // a few requests.
  if (!complete() && wait_turn()) source_->apply_patch(Lane::kFill);
  while (!complete()) {
    std::vector<Extent> first = read_set_ ? read_set_->previous() : std::vector<Extent>{};
    if (first.empty() && read_set_) first = read_set_->recorded();
    for (const Extent& extent : first)
      for (uint64_t unit = extent.first / per_unit; unit <= (extent.first + extent.count - 1) / per_unit;
           ++unit) {
        if (!unit_missing(unit)) continue;
        if (!wait_turn()) return;
        fill(unit);
      }
    for (uint64_t unit = 0; unit < source_->units(); ++unit) {
      if (!unit_missing(unit)) continue;
      if (!wait_turn()) return;
      fill(unit);
    }
    if (complete()) break;
    std::unique_lock<std::mutex> lock(mutex_);
    if (wake_.wait_for(lock, options_.retry_pass, [this] { return stopping_; })) return;
  }
  (void)source_->cache()->persist();
  if (on_complete_) on_complete_();
}

}  // namespace goldroot::blockd

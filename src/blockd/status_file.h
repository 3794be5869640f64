// StatusFile: the daemon's state for goldroot-boot, the agent and
// `goldroot status`, as one JSON object in a file (by default
// /run/goldroot/blockd.json):
//
//   {"image":"<sha>","root_hash":"<hex>","blocks":N,"present":K,
//    "fill_percent":P,"backing":"network"|"local","fetched_bytes":…,
//    "reused_bytes":…,"seeded_bytes":…,"tree_fetched_bytes":…,
//    "tree_seeded_bytes":…,"cache":"disk"|"ram",
//    "verify_failures":…,"last_error":"…","pid":1234,"device":"/dev/dm-0"}
//
// fetched_bytes came over the network (the tree included); seeded_bytes
// were copied from an older image's cache on this disk (blockd/seed_index.h)
// or made here (blocks of zeros);
// reused_bytes were served from this image's own cache. Of the hash tree,
// tree_fetched_bytes came over the network (counted in fetched_bytes too)
// and tree_seeded_bytes were copied from older trees (not in seeded_bytes).
//
// "pid" and "device" let a retried goldroot-boot find the daemon already
// serving this root hash (boot/blockd_launch.h).
//
// The file is replaced atomically (a temporary beside it, renameat) through
// a directory fd opened at open(), so it keeps working after the daemon's
// root moved (switch_root) and the path no longer resolves the same way.
// StatusWriter rewrites it every period on its own thread, running `tick`
// first (the daemon persists the cache map there), and once more at stop().
//
// StatusWriter::write_now and set_backing are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.h"
#include "blockd/verifying_source.h"
#include "sys/unique_fd.h"

namespace goldroot::blockd {

enum class Backing { kNetwork, kLocal };

struct StatusReport {
  std::string image;      // the image's sha256 (the export's name)
  std::string root_hash;  // hex
  uint64_t blocks = 0;
  uint64_t present = 0;
  Backing backing = Backing::kNetwork;
  CacheKind cache = CacheKind::kRam;
  SourceCounters counters;
  std::string device;  // the dm-verity device, once it exists
};

std::string status_json(const StatusReport& report);
// The report of `source` now.
StatusReport report_of(const VerifyingSource& source, const std::string& image, Backing backing);

class StatusWriter {
 public:
  // Opens `directory` (created if missing) now, for later writes of `name`.
  static Result<std::unique_ptr<StatusWriter>> open(const std::string& directory, std::string name,
                                                    const VerifyingSource* source, std::string image);
  ~StatusWriter();  // stop()

  // Runs every period before the write (optional; set before start()).
  void set_tick(std::function<void()> tick) { tick_ = std::move(tick); }
  void set_backing(Backing backing) { backing_.store(backing); }
  void set_device(std::string device) {
    std::lock_guard<std::mutex> lock(write_mutex_);
    device_ = std::move(device);
  }
  void start(std::chrono::milliseconds period = std::chrono::seconds(2));
  void stop();
  Status write_now();

 private:
  StatusWriter() = default;
  void run(std::chrono::milliseconds period);

  UniqueFd directory_;
  std::string directory_path_;
  std::string name_;
  const VerifyingSource* source_ = nullptr;
  std::string image_;
  std::atomic<Backing> backing_{Backing::kNetwork};
  std::string device_;  // guarded by write_mutex_
  std::function<void()> tick_;
  std::mutex write_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace goldroot::blockd

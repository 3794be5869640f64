// ReadSet: the data blocks a boot reads, in first-read order, recorded per
// image as DIR/<root hex>.readset so the next fill of that image fetches
// them first (a boot's read set is a few percent of the image; LTSP and
// Slacker measured the same).
//
// Recording lasts `window` from open and keeps at most `max_extents`
// extents (runs of consecutive blocks, merged as they come); both bounds
// and the "seen" bitmap (data_blocks / 8 bytes) are allocated at open, so
// record() never allocates. save() replaces the file atomically with what
// this boot recorded, through a descriptor of DIR opened at construction
// (after switch_root the daemon's paths no longer resolve, and most of a
// boot's reads come after it); previous() is what the last boot recorded.
//
// File: "goldroot-readset 2 <root hex>\n" then one "first count ms\n" per
// extent, ms being the milliseconds from the ReadSet's construction (the
// daemon's start) to the extent's first read: the boot's pace, which
// bench/boot_storm_client replays. Version 1 files (no ms column) still
// load. A file for another root or malformed is ignored.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/result.h"
#include "sys/unique_fd.h"

namespace goldroot::blockd {

struct Extent {
  uint64_t first = 0;
  uint64_t count = 0;
  bool operator==(const Extent&) const = default;
};

// An extent of a read set file and when the recorded boot first read it.
struct TimedExtent {
  Extent extent;
  uint32_t at_ms = 0;  // 0 throughout in a version 1 file
};

struct ReadSetFile {
  std::string root_hex;
  std::vector<TimedExtent> extents;
};

// Parses a read set file (either version); kCorruption for anything else.
Result<ReadSetFile> parse_read_set(std::string_view text);

class ReadSet {
 public:
  // `directory` empty: nothing is loaded or saved (a RAM cache).
  ReadSet(std::string directory, const Digest& root, uint64_t data_blocks,
          std::chrono::steady_clock::duration window = std::chrono::minutes(5),
          size_t max_extents = 65536);

  void record(uint64_t first_block, uint64_t count);
  // Writes what was recorded (if anything) to DIR/<root>.readset.
  Status save();
  // The previous boot's extents (empty if none).
  const std::vector<Extent>& previous() const { return previous_; }
  // This boot's extents so far (a copy).
  std::vector<Extent> recorded() const;
  std::string path() const { return path_; }

 private:
  std::string path_;
  std::string directory_path_;
  UniqueFd directory_;  // DIR, for openat/renameat; opened late under mutex_
  std::string root_hex_;
  uint64_t data_blocks_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point until_;
  size_t max_extents_;
  std::vector<Extent> previous_;
  mutable std::mutex mutex_;
  std::vector<Extent> recorded_;        // capacity max_extents_, reserved
  std::vector<uint32_t> recorded_ms_;   // beside recorded_, same capacity
  std::unique_ptr<uint64_t[]> seen_;    // 1 bit per data block
  bool saved_all_ = false;              // nothing new since save()
};

}  // namespace goldroot::blockd

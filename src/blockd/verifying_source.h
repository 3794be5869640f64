// VerifyingSource: the BlockSource of an on-demand image. The device is the
// image's data followed by its hash tree (BlockCache's layout, the one the
// dm-verity table reads). At open it loads the tree by Merkle descent from
// the signed root hash: level by level from the top, a hash block is kept
// when the cache holds it and it matches the hash its (verified) parent
// records, else copied from an older image's tree when the seed index has a
// block under that hash (checked the same way: a damaged old block is not
// used), else fetched from tree_url, adjacent ones in one Range request, and
// checked. A small change between two images fetches the top of the new
// tree and the blocks on the paths to what changed, not the whole tree.
// From then on every 4 KiB data block it returns has matched its hash in
// that tree:
//
//   - present in the cache: read, re-verified (a corrupt cached block is
//     forgotten and fetched again), returned; counted as reused_bytes;
//   - missing: the aligned unit around it (unit_size, default 64 KiB) is
//     completed. A block whose leaf hash is that of 4 KiB of zeros (the
//     holes an export kept put leaves where files went) is made here, not
//     fetched, and counted as seeded. With a seed index (blockd/seed_index.h: older images'
//     caches on this disk) each missing block of the unit is first looked
//     up there by its leaf hash in this tree, copied, verified like a
//     fetched block and stored (seeded_bytes); an old block that does not
//     match is simply not used. With an update patch from one of those
//     older images (verity/update_patch.h, found at open), a missing block
//     that a frame of it makes comes from that frame: fetched once,
//     decompressed against the old blocks, each block verified like a
//     fetched one. The blocks still missing are fetched by one
//     HTTP Range request per run of them; each block is verified, the good
//     ones are stored, and a bad one fails this read with kCorruption (EIO
//     at the NBD side), a line on the log and a count in verify_failures.
//     Nothing unverified is ever stored or returned.
//   - server unreachable, 5xx or a wrong answer: the read turns to the next
//     mirror (the site's other servers, which serve the same
//     content-addressed paths) at once; when every one failed in turn it
//     waits and retries with backoff (retry_first doubling to retry_max)
//     until one answers or shutdown() is called. The server that answered
//     last is asked first, by every thread.
// Concurrent reads of one unit fetch it once: the others wait for it. The
// fill's requests are marked (Lane::kFill) so the server may hold them back
// for other PCs' boot reads; a read that needs a unit the fill is fetching
// therefore fetches it itself rather than wait behind a held-back fill.
//
// Thread-safe: read() and fill_unit() run from many threads (one pooled
// HTTP connection per thread that fetches at once). The cache and the
// read set are borrowed and must outlive the source.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "blockd/block_cache.h"
#include "blockd/block_source.h"
#include "blockd/range_client.h"
#include "blockd/read_set.h"
#include "blockd/seed_index.h"
#include "verity/hash_tree.h"
#include "verity/update_patch.h"

namespace goldroot::blockd {

struct SourceOptions {
  std::string image_url;
  std::string tree_url;
  // Other origins ("http://10.0.0.2:8080/") serving the same paths.
  std::vector<std::string> mirrors = {};
  RangeClientOptions http = {};
  uint32_t unit_size = 64 * 1024;  // a multiple of 4096
  std::chrono::milliseconds retry_first{1000};
  std::chrono::milliseconds retry_max{30000};
  // Where the console lines go (a line without newline); stderr if unset.
  std::function<void(const std::string&)> log = {};
  // Records the blocks reads ask for (optional, borrowed).
  ReadSet* read_set = nullptr;
  // Older images' blocks to copy instead of fetching (optional, borrowed).
  const SeedIndex* seed = nullptr;
};

struct SourceCounters {
  uint64_t fetched_bytes = 0;    // from the network, tree included
  // Served from the cache: what a read found present, including blocks an
  // earlier unit fetch (of this read or another) brought along.
  uint64_t reused_bytes = 0;
  // Copied from an older image's cache on this disk (seeding), verified, or
  // made here (blocks of zeros).
  uint64_t seeded_bytes = 0;
  uint64_t seed_rejects = 0;     // old blocks the index offered that did not match
  // Of the hash tree: fetched (part of fetched_bytes), and copied from older
  // trees on this disk (not part of seeded_bytes, which counts data).
  uint64_t tree_fetched_bytes = 0;
  uint64_t tree_seeded_bytes = 0;
  // An update patch (verity/update_patch.h) from an older image on this
  // disk: its bytes fetched (part of fetched_bytes), the blocks it made
  // that matched the tree (data and hash blocks), and those that did not.
  uint64_t patch_fetched_bytes = 0;
  uint64_t patched_bytes = 0;
  uint64_t patch_rejects = 0;
  uint64_t verify_failures = 0;  // fetched blocks that did not match
  uint64_t cache_repairs = 0;    // cached blocks (data or tree) that did not match, refetched
  uint64_t requests = 0;         // HTTP requests made (retries included)
  std::string last_error;        // the last fetch error ("" once none)
};

class VerifyingSource : public BlockSource {
 public:
  // Takes the tree from the cache if it is there and verifies, else loads it
  // by descent (fetches wait for the server like a read). Fails when a
  // fetched hash block does not match (kCorruption) or on a local error.
  static Result<std::unique_ptr<VerifyingSource>> open(BlockCache* cache, SourceOptions options);
  ~VerifyingSource() override;

  uint64_t size() const override { return cache_->size(); }
  Status read(uint64_t offset, uint32_t length, char* out) override;

  // The fill's step: fetches the missing blocks of unit `unit` (blocks
  // [unit * blocks_per_unit(), …) of the data). kCorruption names a block
  // that failed verification; the good ones are stored anyway.
  Status fill_unit(uint64_t unit);
  uint64_t blocks_per_unit() const { return blocks_per_unit_; }
  uint64_t units() const { return (cache_->data_blocks() + blocks_per_unit_ - 1) / blocks_per_unit_; }
  // Foreground reads waiting for the network now (the fill waits for 0).
  int foreground_waiting() const { return foreground_waiting_.load(std::memory_order_acquire); }
  bool complete() const { return cache_->complete(); }
  BlockCache* cache() const { return cache_; }

  // Applies the data frames of the update patch found at open (if any):
  // each frame still needed, whose references this disk holds, is fetched
  // once, decompressed against them, and its blocks verified and stored as
  // fetched ones are. A frame that cannot be used costs a line on the log;
  // its blocks are fetched as usual. Once; the fill calls it first. A read
  // that needs a block a frame makes makes that frame itself.
  void apply_patch(Lane lane);

  SourceCounters counters() const;
  // Makes retry waits give up with kIo, so threads can be joined.
  void shutdown();

 private:
  struct Slot;  // an HTTP client with its unit buffer
  class SlotLease;

  VerifyingSource(BlockCache* cache, SourceOptions options);
  // Finds an update patch from one of the seed's older images (a HEAD of
  // `<image>.patch-<old root>`), loads its header and makes its hash
  // blocks, for the descent. Quiet when there is none.
  void load_patch();
  // One frame of the patch made: its target blocks, in order.
  Result<std::string> make_patch_frame(Slot* slot, const PatchFrame& frame, Lane lane);
  // The data frame that makes `block`, or -1.
  int patch_frame_of(uint64_t block) const;
  // Makes frame `index` and stores its blocks that match the tree, unless
  // it was made (or failed) already; waits while another thread makes it.
  // A frame that cannot be made is logged (the first) and its blocks are
  // left to fetch; fails only when shutting down.
  Status apply_patch_frame(int index, Lane lane);
  Status load_tree();
  // One level of the descent: its blocks that match their parent's record
  // are kept, the others copied from an older tree or fetched.
  Status load_tree_level(int level);
  const uint8_t* recorded_hash(int level, uint64_t index) const;
  bool tree_block_matches(int level, uint64_t index, const char* block) const;
  // Copies hash block `index` of `level` from an older tree if the seed
  // index has it and it matches; true when it is stored.
  Result<bool> seed_tree_block(int level, uint64_t index);
  Status read_data_block(uint64_t block, char* buffer);
  // Fetches the missing blocks of `unit` unless another thread is doing it
  // (then waits for it). *fetched tells which happened.
  Status fetch_unit(uint64_t unit, Lane lane, bool* fetched);
  // One Range request, retried with backoff until it succeeds or shutdown.
  Status fetch_with_retry(Slot* slot, const std::string& url, uint64_t offset, uint64_t length,
                          char* out, Lane lane = Lane::kForeground);
  Result<SlotLease> lease_slot();
  // Makes `block` here if it is zeros, else copies it from an older image if
  // the seed index has it and it matches this tree; true when it is stored.
  Result<bool> seed_block(uint64_t block);
  // Fetches data blocks [first, end) by one Range request; verifies and
  // stores them (one present already is written again with the same
  // bytes). kCorruption names the first bad block.
  Status fetch_run(uint64_t first, uint64_t end, Lane lane);
  void log(const std::string& line);

  BlockCache* cache_;
  SourceOptions options_;
  VerityGeometry geometry_;
  uint64_t blocks_per_unit_;
  Digest zero_leaf_;  // the leaf hash of a block of zeros

  mutable std::mutex mutex_;  // in_flight_, slots_, last_error_, shutdown waits
  std::condition_variable changed_;
  struct InFlight {
    uint64_t unit;
    Lane lane;
    bool operator==(const InFlight&) const = default;
  };
  std::vector<InFlight> in_flight_;
  std::vector<std::unique_ptr<Slot>> idle_slots_;
  std::string last_error_;
  // Which origin reads go to: 0 the URLs' own, i > 0 mirrors[i - 1].
  std::atomic<size_t> origin_{0};
  bool shutdown_ = false;

  std::atomic<int> foreground_waiting_{0};
  std::atomic<uint64_t> fetched_bytes_{0};
  std::atomic<uint64_t> reused_bytes_{0};
  std::atomic<uint64_t> seeded_bytes_{0};
  std::atomic<uint64_t> seed_rejects_{0};
  std::atomic<uint64_t> tree_fetched_bytes_{0};
  std::atomic<uint64_t> tree_seeded_bytes_{0};
  // The update patch, if any: its header (immutable after open), where it
  // is, which old image its references are in, and its hash blocks (by
  // device block) until the descent has used them.
  std::optional<PatchHeader> patch_;
  std::string patch_url_;
  int patch_source_ = -1;
  std::unordered_map<uint64_t, std::string> patch_tree_;
  enum class FrameState : uint8_t { kPending, kApplying, kDone, kFailed };
  std::vector<FrameState> patch_frames_;  // under mutex_
  std::atomic<uint64_t> patch_frames_failed_{0};
  std::atomic<bool> patch_applied_{false};
  std::atomic<uint64_t> patch_fetched_bytes_{0};
  std::atomic<uint64_t> patched_bytes_{0};
  std::atomic<uint64_t> patch_rejects_{0};
  std::atomic<uint64_t> verify_failures_{0};
  std::atomic<uint64_t> cache_repairs_{0};
  std::atomic<uint64_t> requests_{0};
};

}  // namespace goldroot::blockd

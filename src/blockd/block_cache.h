// BlockCache: the local copy of one verity image, laid out as the device the
// dm-verity table reads (hash_start_block = data_blocks): the data
// (data_blocks * 4096 bytes) followed by the hash tree (tree_size bytes),
// and a bitmap of which 4 KiB blocks are present.
//
//   Disk: DIR/<root hex>.image, a sparse file of the device's size, and
//         DIR/<root hex>.map, a header naming the image (root hash, data
//         blocks, tree size) and the bitmap, 1 bit per block. The map is
//         crash-safe by ordering: persist() fdatasyncs the image before it
//         writes the bits of the blocks stored so far, so a bit on disk
//         always means the bytes are on disk. (A block is re-verified on
//         every read anyway, so a torn block costs a refetch, never wrong
//         data.) A map for another image or size is discarded with one
//         sentence on stderr and the cache starts empty.
//   RAM:  a memfd of the device's size (pages exist only where something
//         was stored) and the bitmap in memory.
//
// Memory: the bitmap (blocks / 8 bytes; twice that on disk, for the copy
// persist() writes) is allocated at open and never grows.
//
// A disk cache holds a shared flock on its image file while open, so
// remove_disk_cache (which takes it exclusively) never removes the cache of
// a running daemon or prefetch; read_disk_cache reads another image's
// cache, read-only, for seeding (blockd/seed_index.h).
//
// Thread-safe: store/read/present/forget may be called from any thread;
// stores of different blocks run in parallel (pwrite), bits are atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sys/unique_fd.h"
#include "verity/hash_tree.h"

namespace goldroot::blockd {

constexpr uint32_t kBlockSize = 4096;

enum class CacheKind { kDisk, kRam };

class BlockCache {
 public:
  // The image's cache in `directory` (created if missing), reopened when a
  // matching map is there.
  static Result<std::unique_ptr<BlockCache>> open_disk(const std::string& directory,
                                                       const VerityParams& params,
                                                       uint64_t tree_size);
  static Result<std::unique_ptr<BlockCache>> open_ram(const VerityParams& params,
                                                      uint64_t tree_size);
  ~BlockCache();
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  CacheKind kind() const { return kind_; }
  const VerityParams& params() const { return params_; }
  uint64_t data_blocks() const { return params_.data_blocks; }
  uint64_t tree_blocks() const { return tree_blocks_; }
  uint64_t blocks() const { return params_.data_blocks + tree_blocks_; }  // data, then tree
  uint64_t size() const { return blocks() * kBlockSize; }
  // The image file (disk) for the live move; empty for RAM.
  const std::string& image_path() const { return image_path_; }
  int fd() const { return image_.get(); }

  bool present(uint64_t block) const;
  uint64_t present_count() const { return present_count_.load(std::memory_order_relaxed); }
  bool complete() const { return present_count() == blocks(); }

  // Writes whole blocks starting at `first_block` and marks them present.
  Status store(uint64_t first_block, std::string_view bytes);
  // Reads `count` blocks (present or not: absent ones read as zeros).
  Status read(uint64_t first_block, uint64_t count, char* out) const;
  // Marks a block absent (its bytes failed verification).
  void forget(uint64_t block);

  // The tree region, mapped read-only (valid while the cache lives; its
  // bytes are whatever was stored).
  std::string_view tree() const {
    return {static_cast<const char*>(tree_map_), static_cast<size_t>(tree_blocks_) * kBlockSize};
  }

  // Makes the bits of every block stored so far durable (disk; a no-op for
  // RAM). Called every few seconds and at the end.
  Status persist();

 private:
  BlockCache(CacheKind kind, const VerityParams& params, uint64_t tree_blocks);
  Status allocate_and_map();
  void set_bit(uint64_t block);

  CacheKind kind_;
  VerityParams params_;
  uint64_t tree_blocks_;
  std::string image_path_;
  std::string map_path_;
  UniqueFd image_;
  UniqueFd map_;
  void* tree_map_ = nullptr;

  uint64_t words_ = 0;
  std::unique_ptr<std::atomic<uint64_t>[]> bits_;
  std::atomic<uint64_t> present_count_{0};
  // Disk only: which 4 KiB pages of the bitmap changed since persist(), and
  // the copy persist() writes out (under persist_mutex_).
  std::unique_ptr<std::atomic<uint64_t>[]> dirty_pages_;
  uint64_t dirty_words_ = 0;
  std::unique_ptr<uint64_t[]> durable_;
  std::unique_ptr<uint64_t[]> writing_pages_;
  std::mutex persist_mutex_;
};

// The map file's header (exposed for tests): 64 bytes.
constexpr size_t kMapHeaderSize = 64;

// A disk cache as its files say, opened read-only.
struct DiskCacheFiles {
  std::string root_hex;
  uint64_t data_blocks = 0;
  uint64_t tree_size = 0;
  std::string image_path;
  UniqueFd image;                      // data then tree, as BlockCache lays it out
  std::unique_ptr<uint64_t[]> bits;    // the persisted map, 1 bit per block
  bool present(uint64_t block) const { return (bits[block / 64] >> (block % 64)) & 1; }
};
// The cache of root `root_hex` in `directory`; kNotFound when its files are
// absent, kCorruption when they are not a cache map and image that fit.
Result<DiskCacheFiles> read_disk_cache(const std::string& directory, const std::string& root_hex);
// The root hashes (hex) of the disk caches in `directory`, by name.
std::vector<std::string> disk_caches_in(const std::string& directory);
// Whether a BlockCache (of this or another process) has the cache of
// `root_hex` open now.
bool disk_cache_in_use(const std::string& directory, const std::string& root_hex);
// Removes the cache files of `root_hex` (image, map, read set) from the
// directory open as `directory_fd` (a descriptor: the daemon does this after
// switch_root, where the path no longer resolves) unless a BlockCache has it
// open (kBusy then, and nothing is removed); kNotFound when it is gone.
Status remove_disk_cache(int directory_fd, const std::string& root_hex);

}  // namespace goldroot::blockd

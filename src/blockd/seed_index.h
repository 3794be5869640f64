// SeedIndex: which blocks of a new image this disk already holds, in the
// caches of older images (DIR/<other root>.image + .map, BlockCache's
// layout: data, then the verified hash tree at block data_blocks).
//
// Every export's verity tree uses one salt (image/export.h), so a leaf hash
// of the new tree equals a leaf hash of an old tree exactly where the 4 KiB
// blocks are equal: the new tree, already fetched and verified, is the
// index of what to look for, and the old trees' leaf levels say where it
// is. build() reads only the old maps and the leaf levels of the old trees
// (about 0.8% of each old image; no old data block is hashed except a few
// samples), and keeps, for every data block present in an old map whose
// leaf hash block is present too, an entry
//
//   { first 8 bytes of its leaf hash, where it is (32 bits) }  = 12 bytes
//
// in one vector sorted by hash, allocated once at build and never grown:
// 12 bytes per indexed 4 KiB block, 0.3% of the old images' cached bytes
// (30 MiB of RAM for a whole 10 GiB old image). At most two entries are
// kept per hash (a zero-filled block is everywhere). An old cache whose
// sampled blocks do not match its own leaf hashes under the new salt (a
// tree made with another salt, or a cache of garbage) is skipped whole.
//
// It indexes the old trees' own hash blocks too, for the new tree's Merkle
// descent (VerifyingSource::load_tree): per level (0 = the leaves), every
// present old hash block under its hash as the old tree records it (the
// entry in its parent block, present too, or the old root hash for the
// top). That reads the old trees' upper levels, 1/128 of each tree, and
// costs 12 bytes per old hash block. A new tree block whose hash (in its
// verified parent) is there is copied, not fetched: a small change fetches
// the top of the new tree and the few blocks on the paths to what changed.
//
// The index is only a hint: whoever copies a block from it checks it
// against the new tree (VerifyingSource does) before using it, so a
// corrupted or changed old block, or a prefix collision, costs a fetch and
// never wrong data.
//
// A whole copy in the directory (`<sha256>.erofs`, the image a fetch=full
// host downloaded and boots) is a source too: every block is there, and
// build() makes its tree by hashing it (under the new image's salt, the
// site's one; 1–2 s per GiB) and keeps it in RAM (0.8% of the copy).
//
// Seeding needs a disk cache: a RAM cache (a diskless client) has no older
// image to seed from.
//
// Immutable after build(): lookup() and read() are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "sys/unique_fd.h"
#include "verity/hash_tree.h"

namespace goldroot::blockd {

// Where an older image's block lies: its 32-bit place in the index's
// concatenation of the indexed old caches.
using SeedLocation = uint32_t;

struct SeedSourceInfo {
  std::string root_hex;
  uint64_t data_blocks = 0;
  uint64_t indexed_blocks = 0;  // present data blocks with a present leaf hash
  uint64_t indexed_tree_blocks = 0;  // present hash blocks with a present parent
};

class SeedIndex {
 public:
  static constexpr int kMaxCandidates = 2;

  // Indexes the caches in `directory` except the one of `params` (the new
  // image). `log` gets one line per cache skipped and one for the result.
  // An empty directory gives an empty index.
  static Result<std::unique_ptr<SeedIndex>> build(
      const std::string& directory, const VerityParams& params,
      const std::function<void(const std::string&)>& log);
  SeedIndex(const SeedIndex&) = delete;
  SeedIndex& operator=(const SeedIndex&) = delete;

  // The old blocks whose leaf hash begins like `leaf_hash` (32 bytes): at
  // most kMaxCandidates, written to `out`; returns how many.
  int lookup(const uint8_t* leaf_hash, SeedLocation* out) const;
  // Reads the 4 KiB block at `location` into `out`.
  Status read(SeedLocation location, char* out) const;

  // The old hash blocks of `level` (0: the leaves) whose recorded hash
  // begins like `hash` (32 bytes): at most kMaxCandidates, written to `out`.
  int lookup_tree(int level, const uint8_t* hash, SeedLocation* out) const;
  // Reads the old hash block at `location` (a lookup_tree answer).
  Status read_tree(SeedLocation location, char* out) const;

  // The older images whole, as devices (data, then tree), by their index
  // in sources(): the references of an update patch (verity/update_patch.h).
  uint64_t source_blocks(int source) const;
  // Whether blocks [first, first + count) of the source are all in its cache.
  bool source_holds(int source, uint64_t first, uint64_t count) const;
  Status read_source(int source, uint64_t first, uint64_t count, char* out) const;

  bool empty() const { return entries_.empty() && tree_entries() == 0; }
  uint64_t entries() const { return entries_.size(); }
  uint64_t tree_entries() const;
  uint64_t memory_bytes() const;
  const std::vector<SeedSourceInfo>& sources() const { return sources_; }

 private:
  struct Entry {
    uint32_t key_high;
    uint32_t key_low;
    SeedLocation location;
    uint64_t key() const { return (uint64_t{key_high} << 32) | key_low; }
  };
  static_assert(sizeof(Entry) == 12);
  struct Source {
    UniqueFd image;
    uint64_t base = 0;  // its first block's SeedLocation
    uint64_t data_blocks = 0;
    uint64_t tree_base = 0;  // its first hash block's SeedLocation among tree blocks
    uint64_t tree_blocks = 0;
    std::unique_ptr<uint64_t[]> bits;  // its map: 1 bit per device block
    std::string tree;  // a whole copy's tree, made at build ("" for a cache)
  };

  SeedIndex() = default;

  // Sorted by key, at most kMaxCandidates per key.
  static void sort_and_trim(std::vector<Entry>* entries);
  static int lookup_in(const std::vector<Entry>& entries, const uint8_t* hash, SeedLocation* out);

  std::vector<Entry> entries_;
  std::vector<std::vector<Entry>> tree_levels_;  // [level]: old hash blocks
  std::vector<Source> open_sources_;
  std::vector<SeedSourceInfo> sources_;
};

}  // namespace goldroot::blockd

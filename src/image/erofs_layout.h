// The layout of an erofs image, kept so the next export of the same image
// can keep it put (Android's e2fsdroid "basefs" idea, for erofs).
//
// ErofsLayout is the sidecar `<artifact>.layout` written beside every
// export: for each inode (named by its first path) where its slots sit in
// the metadata area (the nid), which blocks hold its data, and what decides
// whether it is unchanged (content digest, size, xattr bytes). Given that
// of the previous export, the writer keeps unchanged files' blocks and
// inodes' nids, and puts what changed into freed or appended space, so that
// an update changes about as many blocks as it changes data.
//
// BlockAllocator hands out runs of 4 KiB blocks: first fit from the holes
// a base left free, else appended at the end. MetadataAllocator hands out
// 32-byte inode slots inside metadata blocks, never letting an inode of at
// most one block cross a block boundary (the kernel reads an inode's
// inline data within its block).
//
// Plain values and single-threaded allocators; callers serialize access.
#pragma once

#include <bitset>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/result.h"
#include "store/tree.h"

namespace goldroot::erofs {

struct BlockRange {
  uint32_t first = 0;
  uint32_t count = 0;
  uint32_t end() const { return first + count; }
  bool operator==(const BlockRange&) const = default;
};

// One inode of an exported image.
struct LayoutRecord {
  std::string path;  // the inode's first path in commit order; "" is the root
  FileType type = FileType::kRegular;
  Digest digest;           // regular files: the content; directories: the tree
  uint64_t size = 0;       // bytes of content (regular files)
  uint32_t xattr_bytes = 0;  // the encoded xattr body; decides whether a tail fits inline
  uint64_t meta_offset = 0;  // bytes from meta_blkaddr; nid = meta_offset / 32
  uint32_t meta_bytes = 0;   // the inode, its xattrs and inline data
  BlockRange blocks;         // data (files) or blocks outside the inode (directories, symlinks)
  uint32_t ino = 0;
};

struct ErofsLayout {
  uint32_t block_size = 4096;
  // What decides the bytes of a file's blocks besides its content
  // ("lz4hc:9", "none"): a base written otherwise cannot be reused.
  std::string encoding;
  uint32_t meta_blkaddr = 0;
  uint32_t total_blocks = 0;
  std::vector<BlockRange> meta_blocks;  // blocks that hold inodes
  std::vector<LayoutRecord> records;

  // A compact binary form ending in its own SHA-256, so a damaged file is
  // refused rather than half-used.
  std::string serialize() const;
  static Result<ErofsLayout> parse(std::string_view data);
};

class BlockAllocator {
 public:
  // Everything below `end` is in use until release()d; block 0 (the
  // superblock) never is released by the writer.
  explicit BlockAllocator(uint32_t end) : end_(end) {}

  // `count` contiguous blocks at or after `minimum`: the first hole that
  // holds them, else appended. count > 0.
  Result<uint32_t> allocate(uint32_t count, uint32_t minimum = 0);
  void release(BlockRange range);
  // Takes blocks out of the holes (they must be free); false if some are not.
  bool reserve(BlockRange range);
  // Gives back holes at the end of the image; returns the new end.
  uint32_t trim();
  uint32_t end() const { return end_; }
  uint64_t free_blocks() const;

 private:
  std::map<uint32_t, uint32_t> holes_;  // first -> count, disjoint, merged
  uint32_t end_;
};

class MetadataAllocator {
 public:
  static constexpr uint32_t kSlotBytes = 32;
  static constexpr uint32_t kSlotsPerBlock = 4096 / kSlotBytes;

  MetadataAllocator(uint32_t meta_blkaddr, BlockAllocator* blocks)
      : meta_blkaddr_(meta_blkaddr), blocks_(blocks) {}

  // A block (already taken from the BlockAllocator) that holds inodes.
  void add_block(uint32_t block);
  // Takes the slots of [offset, offset + bytes) if they are all free in
  // metadata blocks and an inode of at most a block stays within one.
  // Only before the first allocate().
  bool claim(uint64_t offset, uint32_t bytes);
  // From now on free slots are used only in blocks marked changed (and in
  // new ones): a new inode put into an unchanged block would change it,
  // and a client holding the base would fetch that block again.
  void fill_changed_blocks_only() { changed_only_ = true; }
  // The blocks under [offset, offset + bytes) change anyway (an inode there
  // moved, went or changed).
  void mark_changed(uint64_t offset, uint32_t bytes);
  // A place for an inode of `bytes`, at offset < `limit`: best fit in the
  // free slots, else fresh blocks (an inode of more than a block starts
  // one). Offsets count from meta_blkaddr.
  Result<uint64_t> allocate(uint32_t bytes, uint64_t limit = UINT64_MAX);
  std::vector<BlockRange> blocks() const;

 private:
  void build_runs();
  void mark(uint64_t offset, uint32_t bytes);

  uint32_t meta_blkaddr_;
  BlockAllocator* blocks_;
  std::map<uint32_t, std::bitset<kSlotsPerBlock>> used_;  // block -> used slots
  std::set<uint32_t> changed_;
  bool changed_only_ = false;
  bool runs_built_ = false;
  std::multimap<uint32_t, uint64_t> runs_;  // free bytes -> offset, within one block
};

}  // namespace goldroot::erofs

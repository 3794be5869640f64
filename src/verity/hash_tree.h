// The dm-verity hash tree of an image, in the kernel's on-disk format
// (Documentation/admin-guide/device-mapper/verity.rst, format version 1,
// the one `veritysetup format --no-superblock` writes):
//
//   - the data is cut into data_block_size blocks; each is hashed as
//     SHA-256(salt || block) (version 1 puts the salt first);
//   - level 0 holds the hashes of the data blocks, hash_block_size / 32
//     to a hash block, the rest of a block zero; level i+1 holds the hashes
//     of level i's blocks, the same way, until a level fits one block;
//   - on disk the top level comes first and level 0 last;
//   - the root hash is SHA-256(salt || the top level's one block).
//
// goldroot writes the tree itself (it is 60 lines, and the export must not
// need a loop device); tests check it against veritysetup. The signed boot
// manifest carries VerityParams, so the root hash there vouches for every
// byte of the tree and, through it, of the image.
//
// Plain values and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/result.h"

namespace goldroot {

struct VerityParams {
  uint32_t data_block_size = 4096;
  uint32_t hash_block_size = 4096;
  uint64_t data_blocks = 0;
  std::string salt;  // raw bytes, at most 256
  Digest root_hash;
  bool operator==(const VerityParams&) const = default;

  uint64_t data_size() const { return data_blocks * data_block_size; }
};

// Where each level of a tree lies, counted in hash blocks from the tree's
// start.
class VerityGeometry {
 public:
  VerityGeometry(uint64_t data_blocks, uint32_t hash_block_size);

  int levels() const { return static_cast<int>(level_start_.size()); }
  uint64_t tree_blocks() const { return tree_blocks_; }
  uint64_t tree_size() const { return tree_blocks_ * hash_block_size_; }
  // Byte offset in the tree of the hash of block `index` of level
  // `level` - 1 (level 0: of data block `index`).
  uint64_t hash_offset(int level, uint64_t index) const;
  // Hash block `block` of `level` covers the entries [first, end) of the
  // level below (of the data, for level 0).
  uint64_t level_start(int level) const { return level_start_[level]; }
  uint64_t level_blocks(int level) const;

 private:
  uint64_t data_blocks_;
  uint32_t hash_block_size_;
  int bits_;  // log2(hashes per block)
  std::vector<uint64_t> level_start_;
  uint64_t tree_blocks_ = 0;
};

// SHA-256(salt || block).
Digest verity_block_hash(std::string_view salt, const void* block, size_t size);

// Reads data block `index` (data_block_size bytes) into `buffer`.
using ReadBlock = std::function<Status(uint64_t index, char* buffer)>;

struct BuiltTree {
  std::string tree;  // tree_size() bytes, top level first
  Digest root_hash;
};

// The tree over `data_blocks` blocks read through `read`.
Result<BuiltTree> build_verity_tree(uint64_t data_blocks, uint32_t data_block_size,
                                    uint32_t hash_block_size, std::string_view salt,
                                    const ReadBlock& read);
// The tree over a file (its size must be a multiple of data_block_size).
Result<BuiltTree> build_verity_tree_of_file(const std::string& path, uint32_t data_block_size,
                                            uint32_t hash_block_size, std::string_view salt);

// Checks every hash block of `tree` against the level above and the top
// against params.root_hash; a Corruption error names the first bad block.
Status verify_verity_tree(std::string_view tree, const VerityParams& params);

// Checks one data block against its level-0 entry in a tree that
// verify_verity_tree accepted.
bool verity_block_matches(std::string_view tree, const VerityParams& params,
                          const VerityGeometry& geometry, uint64_t index, const void* block);

}  // namespace goldroot

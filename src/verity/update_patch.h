// An update patch: the blocks of a new verity device (its data, then its
// hash tree: the layout BlockCache and dm-verity read) that a client holding
// an older device cannot seed by hash, compressed with zstd against blocks
// of that older device (OSTree's "static delta", for block images).
//
// A changed file's new compressed extent shares long runs with its old one,
// a hash block differs from the old one at the same place in a few 32-byte
// entries, and a metadata block from the old one in a few inodes: zstd with
// the old blocks as its prefix ("--patch-from") sends what differs. The
// patch is only transport: every block it makes is checked against the new
// signed tree before it is used, so a patch needs no signature of its own,
// and a wrong or forged one costs the fetches it was meant to save, never
// wrong data.
//
// The file: a fixed 64-byte head, then the header, then each frame's
// compressed bytes:
//
//   head    "GRPATCH1", header bytes (u64), old root (32), new root (16
//           bytes of it: enough to refuse a mix-up; the blocks are checked)
//   header  old data blocks, new data blocks, frames; per frame: its
//           offset and size in the file, its target runs (the new device
//           blocks it makes, in order) and its reference runs (the old
//           device blocks whose concatenation is the zstd prefix)
//
// A frame makes at most kMaxFrameBlocks blocks from a reference of at most
// kMaxReferenceBlocks, so a client applies a patch of any size in bounded
// memory, a frame at a time, and skips a frame whose reference it does not
// hold. Frames of hash blocks come first: the client needs the new tree
// before it can check a data block.
//
// Plain values and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/result.h"
#include "verity/hash_tree.h"

namespace goldroot {

struct PatchRun {
  uint64_t first = 0;
  uint32_t count = 0;
  uint64_t end() const { return first + count; }
  bool operator==(const PatchRun&) const = default;
};

struct PatchFrame {
  uint64_t offset = 0;           // of its compressed bytes, from the file's start
  uint64_t compressed_size = 0;
  std::vector<PatchRun> targets;     // new device blocks, in the order decompressed
  std::vector<PatchRun> references;  // old device blocks, concatenated: the prefix
  bool operator==(const PatchFrame&) const = default;
};

struct PatchHeader {
  static constexpr uint32_t kBlockSize = 4096;
  static constexpr size_t kHeadSize = 64;
  static constexpr uint64_t kMaxFrameBlocks = 4096;       // 16 MiB made per frame
  static constexpr uint64_t kMaxReferenceBlocks = 24576;  // 96 MiB of prefix
  static constexpr uint64_t kMaxHeaderBytes = 16 << 20;

  Digest old_root;
  Digest new_root;  // only its first 16 bytes are in the file
  uint64_t old_data_blocks = 0;
  uint64_t new_data_blocks = 0;
  std::vector<PatchFrame> frames;
  bool operator==(const PatchHeader&) const = default;
};

uint64_t run_blocks(const std::vector<PatchRun>& runs);

// The head and the header; frames' offsets must already be set.
std::string serialize_patch_header(const PatchHeader& header);
// The header's size in the file (head included) from its first kHeadSize
// bytes: fetch that much, then parse.
Result<uint64_t> patch_header_size(std::string_view head);
// Parses head + header, and checks it against what the client knows: the
// old and new device sizes (in blocks, tree included) and roots. Every run
// must lie inside its device, every frame within its limits and after the
// header. One sentence on failure.
Result<PatchHeader> parse_patch_header(std::string_view data, const Digest& old_root,
                                       uint64_t old_device_blocks, const Digest& new_root,
                                       uint64_t new_device_blocks);

// zstd at `level` of `target` with `reference` as its prefix.
Result<std::string> compress_patch_frame(std::string_view target, std::string_view reference,
                                         int level);
// Undoes compress_patch_frame: exactly out_size bytes, or one sentence.
Status decompress_patch_frame(std::string_view compressed, std::string_view reference, char* out,
                              size_t out_size);

// Making a patch (make_update_patch.cc): a device is an image file and its
// tree file.
struct PatchInput {
  std::string image_path;
  std::string tree_path;
  VerityParams params;
};
// A file's data in the new image and the same file's data in the base: the
// reference of the first (a changed file shares long runs with its old
// version, wherever the layout put it).
struct PatchExtent {
  PatchRun image;
  PatchRun base;
};
struct MadePatch {
  std::string bytes;           // the file; empty: the client needs no block
  uint64_t target_blocks = 0;  // blocks it makes (data and hash)
  uint64_t tree_blocks = 0;    // ... of which hash blocks
  uint64_t frames = 0;
};
// The patch from `base` to `image`: the new device blocks that a client
// holding `base` cannot seed by hash (their leaf hash, or a hash block's
// hash at its level, is not in base's tree; not zeros), hash blocks first,
// each compressed at zstd `level` against base's blocks at the same place
// (a hash block: the same level and index) and, for data, against the
// base extent `extents` pairs with it.
Result<MadePatch> make_update_patch(const PatchInput& base, const PatchInput& image,
                                   const std::vector<PatchExtent>& extents, int level);

// The patch's name beside the new image (and in its URL): "<image>.patch-<old root hex>".
std::string patch_suffix(const Digest& old_root);

}  // namespace goldroot

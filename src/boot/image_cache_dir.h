// The images a machine keeps in its cache directory on the data partition
// (goldroot/cache): whole downloads (<sha>.erofs, .squashfs, .part) and
// goldroot-blockd's block caches (<root hash>.image, .map, .readset).
//
// The rule, so the disk holds at most about two images:
//   - a whole download keeps only the image booted;
//   - an on-demand boot keeps the image booted and the most recent other
//     block cache (the one whose map was written last: it served the boot
//     before), because goldroot-blockd seeds the new image from it
//     (blockd/seed_index.h); older block caches and whole downloads go.
//     Once the new image is complete the daemon removes that one too
//     (blockd/main.cc), so the peak is the new image plus the previous one
//     (plus, while the agent prefetches the next gold, that one).
//
// Functions only; not thread-safe against another writer of the directory.
#pragma once

#include <cstdint>
#include <string>

#include "base/hash.h"
#include "base/result.h"

namespace goldroot::boot {

// Removes the other images' files from `cache_dir` by the rule above:
// `keep_path` is the whole download booted ("" for none); `keep_root_hash`
// the block cache booted ("" for none: then no block cache is kept).
void drop_other_images(const std::string& cache_dir, const std::string& keep_path,
                       const std::string& keep_root_hash);

// The complete block cache of root `root_hex` in `cache_dir` becomes the
// whole copy `whole_path` (what a fetch=full boot reuses), once its first
// `size` bytes are the image of `sha256`; the cache's map and read set go.
Status cache_to_whole_copy(const std::string& cache_dir, const std::string& root_hex,
                           const Digest& sha256, uint64_t size, const std::string& whole_path);

}  // namespace goldroot::boot

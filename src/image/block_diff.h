// What a client holding one image must fetch to hold another: the 4 KiB
// blocks of the new image whose bytes appear nowhere in the old one. The
// client seeds by block hash (the new image's verity tree is its index), so
// a block that only moved costs nothing; `changed_in_place` counts the
// blocks that differ at the same offset, for comparison.
//
// Pure functions over two files; no state.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace goldroot {

struct BlockDiff {
  uint64_t blocks = 0;            // blocks of the new image
  uint64_t missing = 0;           // ... whose bytes the old image does not have anywhere
  uint64_t changed_in_place = 0;  // ... that differ from the old image's block at that offset
};

Result<BlockDiff> diff_blocks(const std::string& old_image, const std::string& new_image);

}  // namespace goldroot

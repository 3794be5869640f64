#include "image/erofs_compress.h"

#include <lz4hc.h>

#include <algorithm>
#include <cstring>

#include "image/erofs_format.h"

namespace goldroot::erofs {

Compressor::Compressor(int level)
    : level_(level), state_(new char[static_cast<size_t>(LZ4_sizeofStateHC())]) {}

Compressor::~Compressor() = default;

bool Compressor::compress(std::string_view data, CompressedFile* out) {
  out->extents.clear();
  out->blocks.clear();
  uint64_t flat_blocks = blocks_for(data.size());
  uint64_t position = 0;
  while (position < data.size()) {
    // Stop as soon as compression cannot pay for itself.
    if (out->extents.size() >= flat_blocks) return false;
    out->blocks.resize(out->blocks.size() + kBlockSize);
    Extent extent = compress_extent(data.substr(position), position,
                                    out->blocks.data() + out->blocks.size() - kBlockSize);
    out->extents.push_back(extent);
    position += extent.length;
  }
  return out->extents.size() < flat_blocks;
}

Extent Compressor::compress_extent(std::string_view rest, uint64_t start, char* block) {
  std::memset(block, 0, kBlockSize);
  char compressed[kBlockSize];
  Extent extent;
  extent.start = start;
  int consumed = static_cast<int>(std::min<uint64_t>(rest.size(), kMaxExtentInput));
  int written = 0;
  if (rest.size() > kBlockSize)
    written = LZ4_compress_HC_destSize(state_.get(), rest.data(), compressed, &consumed,
                                       static_cast<int>(kBlockSize), level_);
  if (written > 0 && static_cast<uint64_t>(consumed) > kBlockSize) {
    extent.length = static_cast<uint32_t>(consumed);
    std::memcpy(block + kBlockSize - written, compressed, static_cast<size_t>(written));
  } else {
    // One block of input in one block of output: store it as it is.
    extent.raw = true;
    extent.length = static_cast<uint32_t>(std::min<uint64_t>(rest.size(), kBlockSize));
    std::memcpy(block, rest.data(), extent.length);
  }
  return extent;
}

std::string build_lcluster_indexes(const std::vector<Extent>& extents, uint64_t size,
                                   uint32_t first_block) {
  std::string out(lcluster_metadata_size(size), '\0');
  // Map header: no advise flags, LZ4 for both head types, 4 KiB lclusters.
  char* indexes = out.data() + kLegacyHeaderSize;
  auto write_index = [&](uint64_t cluster, uint16_t type, uint16_t clusterofs, uint32_t word) {
    char* at = indexes + cluster * kLclusterIndexSize;
    put16(at, type);
    put16(at + 2, clusterofs);
    put32(at + 4, word);
  };
  for (size_t i = 0; i < extents.size(); ++i) {
    const Extent& extent = extents[i];
    uint64_t head = extent.start >> kBlockBits;
    uint64_t end = extent.start + extent.length;
    write_index(head, extent.raw ? kLclusterPlain : kLclusterHead1,
                static_cast<uint16_t>(extent.start & (kBlockSize - 1)),
                first_block + static_cast<uint32_t>(i));
    // Clusters wholly inside the extent point back to its head and forward
    // to the cluster where the next extent starts.
    uint64_t next_head = end >> kBlockBits;
    for (uint64_t cluster = head + 1; cluster < next_head; ++cluster) {
      uint16_t back = static_cast<uint16_t>(std::min<uint64_t>(cluster - head, kMaxDelta0));
      uint16_t forward = static_cast<uint16_t>(std::min<uint64_t>(next_head - cluster, 0xffff));
      write_index(cluster, kLclusterNonHead, 0,
                  static_cast<uint32_t>(back) | (static_cast<uint32_t>(forward) << 16));
    }
  }
  // The file ends inside a cluster the last extent did not start in: that
  // cluster's head marks where the data stops.
  if (!extents.empty() && (size & (kBlockSize - 1))) {
    uint64_t last = (size - 1) >> kBlockBits;
    if ((extents.back().start >> kBlockBits) != last)
      write_index(last, kLclusterPlain, static_cast<uint16_t>(size & (kBlockSize - 1)), 0);
  }
  return out;
}

}  // namespace goldroot::erofs

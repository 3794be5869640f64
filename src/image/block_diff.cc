#include "image/block_diff.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "sys/unique_fd.h"

namespace goldroot {

namespace {

constexpr size_t kBlock = 4096;
constexpr size_t kChunk = 256 * kBlock;

// Calls `each(index, hash)` for every 4 KiB block of `path` (a short last
// block is padded with zeros, as the kernel reads it). A 64-bit hash is
// enough for an estimate over a few million blocks.
Status for_each_block(const std::string& path, const std::function<void(uint64_t, size_t)>& each) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("opening " + path, errno);
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  std::string chunk(kChunk, '\0');
  std::hash<std::string_view> hash;
  uint64_t index = 0;
  for (off_t offset = 0;;) {
    size_t have = 0;
    while (have < kChunk) {
      ssize_t n = ::pread(fd.get(), chunk.data() + have, kChunk - have, offset + static_cast<off_t>(have));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("reading " + path, errno);
      if (n == 0) break;
      have += static_cast<size_t>(n);
    }
    if (have == 0) return {};
    if (have % kBlock) {
      size_t padded = (have + kBlock - 1) / kBlock * kBlock;
      std::memset(chunk.data() + have, 0, padded - have);
      have = padded;
    }
    for (size_t at = 0; at < have; at += kBlock)
      each(index++, hash(std::string_view(chunk.data() + at, kBlock)));
    if (have < kChunk) return {};
    offset += static_cast<off_t>(kChunk);
  }
}

}  // namespace

Result<BlockDiff> diff_blocks(const std::string& old_image, const std::string& new_image) {
  std::vector<size_t> old_hashes;
  TRY(for_each_block(old_image, [&](uint64_t, size_t hash) { old_hashes.push_back(hash); }));
  std::unordered_set<size_t> known(old_hashes.begin(), old_hashes.end());
  BlockDiff diff;
  TRY(for_each_block(new_image, [&](uint64_t index, size_t hash) {
    ++diff.blocks;
    if (!known.count(hash)) ++diff.missing;
    if (index >= old_hashes.size() || old_hashes[index] != hash) ++diff.changed_in_place;
  }));
  return diff;
}

}  // namespace goldroot

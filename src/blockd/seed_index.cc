#include "blockd/seed_index.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "blockd/block_cache.h"

namespace goldroot::blockd {
namespace {

constexpr uint64_t kHashesPerBlock = kBlockSize / 32;
constexpr uint64_t kChunkBlocks = 64;  // leaf hash blocks read at once: 256 KiB
constexpr int kSamples = 8;

Status pread_exact(int fd, void* out, size_t length, uint64_t offset, const std::string& what) {
  char* bytes = static_cast<char*>(out);
  while (length > 0) {
    ssize_t got = ::pread(fd, bytes, length, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno_error("reading " + what, errno);
    if (got == 0) return make_error(ErrorCode::kCorruption, what + " is shorter than its map says");
    bytes += got;
    length -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return {};
}

// An old cache found usable, between the two passes of build().
struct Candidate {
  DiskCacheFiles files;
  uint64_t leaf_start = 0;  // the leaf level's first block in the image file
  uint64_t indexable = 0;   // data blocks present whose leaf block is present

  bool indexable_block(uint64_t block) const {
    return files.present(block) && files.present(leaf_start + block / kHashesPerBlock);
  }
};

// Whether the blocks of `candidate` hash, under the new image's salt, to
// what its own tree says: a few present blocks spread over the image.
Result<bool> salt_fits(const Candidate& candidate, std::string_view salt) {
  const DiskCacheFiles& files = candidate.files;
  const uint64_t stride = std::max<uint64_t>(1, files.data_blocks / kSamples);
  int sampled = 0;
  char block[kBlockSize];
  uint8_t leaf[32];
  for (uint64_t start = 0; start < files.data_blocks && sampled < kSamples; start += stride) {
    uint64_t b = start;
    while (b < std::min(start + stride, files.data_blocks) && !candidate.indexable_block(b)) ++b;
    if (b >= std::min(start + stride, files.data_blocks)) continue;
    ++sampled;
    TRY(pread_exact(files.image.get(), block, kBlockSize, b * kBlockSize, files.image_path));
    TRY(pread_exact(files.image.get(), leaf, sizeof leaf,
                    candidate.leaf_start * kBlockSize + b * 32, files.image_path));
    Digest digest = verity_block_hash(salt, block, kBlockSize);
    if (std::memcmp(digest.bytes.data(), leaf, sizeof leaf) == 0) return true;
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<SeedIndex>> SeedIndex::build(
    const std::string& directory, const VerityParams& params,
    const std::function<void(const std::string&)>& log) {
  std::unique_ptr<SeedIndex> index(new SeedIndex());
  const std::string own = params.root_hash.hex();

  // Pass 1: which old caches, and how many entries (so the vector is
  // allocated once).
  std::vector<Candidate> candidates;
  uint64_t total = 0, next_base = 0;
  for (const std::string& root : disk_caches_in(directory)) {
    if (root == own) continue;
    const std::string name = "the cache of image " + root.substr(0, 12);
    auto files = read_disk_cache(directory, root);
    if (!files.ok()) {
      log("not seeding from " + name + ": " + files.error().message);
      continue;
    }
    VerityGeometry geometry(files->data_blocks, kBlockSize);
    if (geometry.levels() == 0) continue;
    if (next_base + files->data_blocks > (uint64_t{1} << 32)) {
      log("not seeding from " + name + ": the seed index holds at most 2^32 blocks");
      continue;
    }
    Candidate candidate{std::move(*files), 0, 0};
    candidate.leaf_start = candidate.files.data_blocks + geometry.level_start(0);
    for (uint64_t b = 0; b < candidate.files.data_blocks; ++b)
      candidate.indexable += candidate.indexable_block(b) ? 1 : 0;
    if (candidate.indexable == 0) continue;
    auto fits = salt_fits(candidate, params.salt);
    if (!fits.ok()) {
      log("not seeding from " + name + ": " + fits.error().message);
      continue;
    }
    if (!*fits) {
      log("not seeding from " + name + ": its blocks do not match its hash tree under this "
          "image's salt (an export from before the one salt, or a damaged cache)");
      continue;
    }
    next_base += candidate.files.data_blocks;
    total += candidate.indexable;
    candidates.push_back(std::move(candidate));
  }
  if (candidates.empty()) return index;

  // Pass 2: the leaf levels, a chunk of hash blocks at a time.
  index->entries_.reserve(total);
  std::unique_ptr<char[]> chunk(new char[kChunkBlocks * kBlockSize]);
  uint64_t base = 0;
  for (Candidate& candidate : candidates) {
    DiskCacheFiles& files = candidate.files;
    const uint64_t leaf_blocks = (files.data_blocks + kHashesPerBlock - 1) / kHashesPerBlock;
    for (uint64_t first = 0; first < leaf_blocks; first += kChunkBlocks) {
      const uint64_t count = std::min(kChunkBlocks, leaf_blocks - first);
      TRY(pread_exact(files.image.get(), chunk.get(), count * kBlockSize,
                      (candidate.leaf_start + first) * kBlockSize, files.image_path));
      const uint64_t end = std::min(files.data_blocks, (first + count) * kHashesPerBlock);
      for (uint64_t b = first * kHashesPerBlock; b < end; ++b) {
        if (!candidate.indexable_block(b)) continue;
        const unsigned char* hash =
            reinterpret_cast<const unsigned char*>(chunk.get()) + (b - first * kHashesPerBlock) * 32;
        uint32_t high, low;
        std::memcpy(&high, hash, 4);
        std::memcpy(&low, hash + 4, 4);
        index->entries_.push_back(Entry{high, low, static_cast<SeedLocation>(base + b)});
      }
    }
    index->sources_.push_back({files.root_hex, files.data_blocks, candidate.indexable});
    index->open_sources_.push_back({std::move(files.image), base, files.data_blocks});
    base += files.data_blocks;
  }
  std::sort(index->entries_.begin(), index->entries_.end(), [](const Entry& a, const Entry& b) {
    return a.key() != b.key() ? a.key() < b.key() : a.location < b.location;
  });
  // At most kMaxCandidates per hash.
  size_t kept = 0;
  for (size_t i = 0; i < index->entries_.size(); ++i) {
    if (kept >= static_cast<size_t>(kMaxCandidates) &&
        index->entries_[kept - kMaxCandidates].key() == index->entries_[i].key())
      continue;
    index->entries_[kept++] = index->entries_[i];
  }
  index->entries_.resize(kept);
  index->entries_.shrink_to_fit();
  log("seeding from " + std::to_string(index->sources_.size()) + " older image cache(s) in " +
      directory + ": " + std::to_string(kept) + " blocks indexed (" +
      std::to_string(index->memory_bytes() >> 10) + " KiB of RAM)");
  return index;
}

int SeedIndex::lookup(const uint8_t* leaf_hash, SeedLocation* out) const {
  uint32_t high, low;
  std::memcpy(&high, leaf_hash, 4);
  std::memcpy(&low, leaf_hash + 4, 4);
  const uint64_t key = (uint64_t{high} << 32) | low;
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                             [](const Entry& entry, uint64_t k) { return entry.key() < k; });
  int found = 0;
  for (; it != entries_.end() && it->key() == key && found < kMaxCandidates; ++it)
    out[found++] = it->location;
  return found;
}

Status SeedIndex::read(SeedLocation location, char* out) const {
  for (const Source& source : open_sources_) {
    if (location < source.base || location - source.base >= source.data_blocks) continue;
    return pread_exact(source.image.get(), out, kBlockSize, (location - source.base) * kBlockSize,
                       "an older image's cache");
  }
  return make_error(ErrorCode::kInvalidArgument, "no older image holds seed block " +
                                                     std::to_string(location));
}

}  // namespace goldroot::blockd

#include "blockd/seed_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "blockd/block_cache.h"
#include "sys/file_io.h"

namespace goldroot::blockd {
namespace {

constexpr uint64_t kHashesPerBlock = kBlockSize / 32;
constexpr uint64_t kChunkBlocks = 64;  // leaf hash blocks read at once: 256 KiB
constexpr int kSamples = 8;

// Reads device blocks [first, first + count) of an old image: from its
// file, or, for a whole copy, the tree part from `tree` (made here).
Status read_device(int fd, const std::string& tree, uint64_t data_blocks, uint64_t first,
                   uint64_t count, char* out, const std::string& what) {
  if (!tree.empty() && first >= data_blocks) {
    if ((first - data_blocks + count) * kBlockSize > tree.size())
      return make_error(ErrorCode::kInvalidArgument, "a read past the end of " + what + "'s tree");
    std::memcpy(out, tree.data() + (first - data_blocks) * kBlockSize, count * kBlockSize);
    return {};
  }
  return pread_exact(fd, out, count * kBlockSize, first * kBlockSize, what);
}

// An old cache found usable, between the two passes of build().
struct Candidate {
  DiskCacheFiles files;
  uint64_t leaf_start = 0;  // the leaf level's first block in the image file
  uint64_t indexable = 0;   // data blocks present whose leaf block is present
  std::string tree;         // a whole copy's tree, made here ("" for a cache)

  Status read(uint64_t first, uint64_t count, char* out) const {
    return read_device(files.image.get(), tree, files.data_blocks, first, count, out, files.image_path);
  }

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

// "<sha256>.erofs" files in `directory`.
std::vector<std::string> whole_copies_in(const std::string& directory) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    std::string name = entry.path().filename().string();
    if (name.size() == 64 + 6 && name.ends_with(".erofs") &&
        Digest::from_hex(name.substr(0, 64)).has_value() && entry.is_regular_file(error))
      names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A whole copy as a candidate: all present, its tree made from its blocks.
Result<Candidate> whole_copy_candidate(const std::string& path, const std::string& salt) {
  Candidate candidate;
  DiskCacheFiles& files = candidate.files;
  files.image_path = path;
  files.image = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!files.image.valid()) return errno_error("opening " + path, errno);
  struct stat st;
  if (::fstat(files.image.get(), &st) != 0) return errno_error("reading " + path, errno);
  if (st.st_size <= static_cast<off_t>(kBlockSize) || st.st_size % kBlockSize != 0)
    return make_error(ErrorCode::kInvalidArgument, "its size is not a whole number of 4 KiB blocks");
  BuiltTree built = TRY(build_verity_tree_of_file(path, kBlockSize, kBlockSize, salt));
  files.root_hex = built.root_hash.hex();
  files.data_blocks = static_cast<uint64_t>(st.st_size) / kBlockSize;
  files.tree_size = built.tree.size();
  const uint64_t words = (files.data_blocks + files.tree_size / kBlockSize + 63) / 64;
  files.bits.reset(new uint64_t[words]);
  std::fill(files.bits.get(), files.bits.get() + words, ~uint64_t{0});
  VerityGeometry geometry(files.data_blocks, kBlockSize);
  candidate.leaf_start = files.data_blocks + geometry.level_start(0);
  candidate.indexable = files.data_blocks;
  candidate.tree = std::move(built.tree);
  return candidate;
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
  // Whole copies ("<sha256>.erofs", what a fetch=full host boots): every
  // block is there; their trees are made here under the new image's salt
  // (the site's one salt: the root is then the export's, which names the
  // update patch from it).
  for (const std::string& name : whole_copies_in(directory)) {
    const std::string path = directory + "/" + name;
    auto copy = whole_copy_candidate(path, params.salt);
    if (!copy.ok()) {
      log("not seeding from " + path + ": " + copy.error().message);
      continue;
    }
    bool known = copy->files.root_hex == own;
    for (const Candidate& other : candidates) known = known || other.files.root_hex == copy->files.root_hex;
    if (known || next_base + copy->files.data_blocks > (uint64_t{1} << 32)) continue;
    log("seeding from the whole copy " + path + " (image " + copy->files.root_hex.substr(0, 12) +
        ", its hash tree made here)");
    next_base += copy->files.data_blocks;
    total += copy->indexable;
    candidates.push_back(std::move(*copy));
  }
  if (candidates.empty()) return index;

  // Pass 2: the leaf levels, a chunk of hash blocks at a time.
  index->entries_.reserve(total);
  std::unique_ptr<char[]> chunk(new char[kChunkBlocks * kBlockSize]);
  uint64_t base = 0, tree_base = 0;
  for (Candidate& candidate : candidates) {
    DiskCacheFiles& files = candidate.files;
    const uint64_t leaf_blocks = (files.data_blocks + kHashesPerBlock - 1) / kHashesPerBlock;
    for (uint64_t first = 0; first < leaf_blocks; first += kChunkBlocks) {
      const uint64_t count = std::min(kChunkBlocks, leaf_blocks - first);
      TRY(candidate.read(candidate.leaf_start + first, count, chunk.get()));
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
    // The old tree's own hash blocks, each under the hash its parent (or
    // the old root) records: the levels above the leaves hold them all.
    VerityGeometry geometry(files.data_blocks, kBlockSize);
    const uint64_t tree_first = files.data_blocks;  // the tree's first block in the image file
    std::string upper(geometry.level_start(0) * kBlockSize, '\0');
    TRY(candidate.read(tree_first, geometry.level_start(0), upper.data()));
    const Digest old_root = Digest::from_hex(files.root_hex).value();
    if (index->tree_levels_.size() < static_cast<size_t>(geometry.levels()))
      index->tree_levels_.resize(geometry.levels());
    uint64_t tree_indexed = 0;
    for (int level = 0; level < geometry.levels(); ++level)
      for (uint64_t k = 0; k < geometry.level_blocks(level); ++k) {
        const uint64_t t = geometry.level_start(level) + k;
        if (!files.present(tree_first + t)) continue;
        const unsigned char* hash = old_root.bytes.data();
        if (level + 1 < geometry.levels()) {
          const uint64_t offset = geometry.hash_offset(level + 1, k);
          if (!files.present(tree_first + offset / kBlockSize)) continue;
          hash = reinterpret_cast<const unsigned char*>(upper.data()) + offset;
        }
        uint32_t high, low;
        std::memcpy(&high, hash, 4);
        std::memcpy(&low, hash + 4, 4);
        index->tree_levels_[level].push_back(
            Entry{high, low, static_cast<SeedLocation>(tree_base + t)});
        ++tree_indexed;
      }
    index->sources_.push_back({files.root_hex, files.data_blocks, candidate.indexable, tree_indexed});
    index->open_sources_.push_back(
        {std::move(files.image), base, files.data_blocks, tree_base, geometry.tree_blocks(),
         std::move(files.bits), std::move(candidate.tree)});
    base += files.data_blocks;
    tree_base += geometry.tree_blocks();
  }
  sort_and_trim(&index->entries_);
  for (std::vector<Entry>& level : index->tree_levels_) sort_and_trim(&level);
  log("seeding from " + std::to_string(index->sources_.size()) + " older image cache(s) in " +
      directory + ": " + std::to_string(index->entries_.size()) + " blocks and " +
      std::to_string(index->tree_entries()) + " hash blocks indexed (" +
      std::to_string(index->memory_bytes() >> 10) + " KiB of RAM)");
  return index;
}

void SeedIndex::sort_and_trim(std::vector<Entry>* entries) {
  std::sort(entries->begin(), entries->end(), [](const Entry& a, const Entry& b) {
    return a.key() != b.key() ? a.key() < b.key() : a.location < b.location;
  });
  // At most kMaxCandidates per hash.
  size_t kept = 0;
  for (size_t i = 0; i < entries->size(); ++i) {
    if (kept >= static_cast<size_t>(kMaxCandidates) &&
        (*entries)[kept - kMaxCandidates].key() == (*entries)[i].key())
      continue;
    (*entries)[kept++] = (*entries)[i];
  }
  entries->resize(kept);
  entries->shrink_to_fit();
}

uint64_t SeedIndex::tree_entries() const {
  uint64_t count = 0;
  for (const std::vector<Entry>& level : tree_levels_) count += level.size();
  return count;
}

uint64_t SeedIndex::memory_bytes() const {
  uint64_t bytes = entries_.capacity() * sizeof(Entry);
  for (const std::vector<Entry>& level : tree_levels_) bytes += level.capacity() * sizeof(Entry);
  return bytes;
}

int SeedIndex::lookup_in(const std::vector<Entry>& entries, const uint8_t* hash,
                         SeedLocation* out) {
  uint32_t high, low;
  std::memcpy(&high, hash, 4);
  std::memcpy(&low, hash + 4, 4);
  const uint64_t key = (uint64_t{high} << 32) | low;
  auto it = std::lower_bound(entries.begin(), entries.end(), key,
                             [](const Entry& entry, uint64_t k) { return entry.key() < k; });
  int found = 0;
  for (; it != entries.end() && it->key() == key && found < kMaxCandidates; ++it)
    out[found++] = it->location;
  return found;
}

int SeedIndex::lookup(const uint8_t* leaf_hash, SeedLocation* out) const {
  return lookup_in(entries_, leaf_hash, out);
}

int SeedIndex::lookup_tree(int level, const uint8_t* hash, SeedLocation* out) const {
  if (level < 0 || static_cast<size_t>(level) >= tree_levels_.size()) return 0;
  return lookup_in(tree_levels_[level], hash, out);
}

Status SeedIndex::read(SeedLocation location, char* out) const {
  for (const Source& source : open_sources_) {
    if (location < source.base || location - source.base >= source.data_blocks) continue;
    return read_device(source.image.get(), source.tree, source.data_blocks, location - source.base, 1,
                       out, "an older image's cache");
  }
  return make_error(ErrorCode::kInvalidArgument, "no older image holds seed block " +
                                                     std::to_string(location));
}

uint64_t SeedIndex::source_blocks(int source) const {
  const Source& s = open_sources_.at(source);
  return s.data_blocks + s.tree_blocks;
}

bool SeedIndex::source_holds(int source, uint64_t first, uint64_t count) const {
  const Source& s = open_sources_.at(source);
  if (first > s.data_blocks + s.tree_blocks || count > s.data_blocks + s.tree_blocks - first) return false;
  for (uint64_t b = first; b < first + count; ++b)
    if (!((s.bits[b / 64] >> (b % 64)) & 1)) return false;
  return true;
}

Status SeedIndex::read_source(int source, uint64_t first, uint64_t count, char* out) const {
  const Source& s = open_sources_.at(source);
  return read_device(s.image.get(), s.tree, s.data_blocks, first, count, out, "an older image's cache");
}

Status SeedIndex::read_tree(SeedLocation location, char* out) const {
  for (const Source& source : open_sources_) {
    if (location < source.tree_base || location - source.tree_base >= source.tree_blocks) continue;
    return read_device(source.image.get(), source.tree, source.data_blocks,
                       source.data_blocks + location - source.tree_base, 1, out,
                       "an older image's cache");
  }
  return make_error(ErrorCode::kInvalidArgument, "no older image holds seed hash block " +
                                                     std::to_string(location));
}

}  // namespace goldroot::blockd

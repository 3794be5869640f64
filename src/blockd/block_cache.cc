#include "blockd/block_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

namespace goldroot::blockd {
namespace {

constexpr char kMapMagic[8] = {'G', 'R', 'B', 'M', 'A', 'P', '1', '\n'};
constexpr uint64_t kWordsPerPage = 4096 / 8;

struct MapHeader {
  char magic[8];
  uint64_t data_blocks;
  uint64_t tree_size;
  uint8_t root_hash[32];
  uint64_t reserved;
};
static_assert(sizeof(MapHeader) == kMapHeaderSize);

MapHeader header_for(const VerityParams& params, uint64_t tree_size) {
  MapHeader header{};
  std::memcpy(header.magic, kMapMagic, sizeof kMapMagic);
  header.data_blocks = params.data_blocks;
  header.tree_size = tree_size;
  std::memcpy(header.root_hash, params.root_hash.bytes.data(), 32);
  return header;
}

Status pwrite_all(int fd, const void* data, size_t length, uint64_t offset, const std::string& what) {
  const char* bytes = static_cast<const char*>(data);
  while (length > 0) {
    ssize_t written = ::pwrite(fd, bytes, length, static_cast<off_t>(offset));
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno_error("writing " + what, errno);
    }
    bytes += written;
    length -= static_cast<size_t>(written);
    offset += static_cast<uint64_t>(written);
  }
  return {};
}

Status pread_all(int fd, void* data, size_t length, uint64_t offset, const std::string& what) {
  char* bytes = static_cast<char*>(data);
  while (length > 0) {
    ssize_t got = ::pread(fd, bytes, length, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return errno_error("reading " + what, errno);
    }
    if (got == 0) {  // past the end of a short file: zeros, like a hole
      std::memset(bytes, 0, length);
      return {};
    }
    bytes += got;
    length -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return {};
}

// Why an existing map cannot be used, or "" when it can.
std::string map_mismatch(int map_fd, int image_fd, const MapHeader& expected, uint64_t image_size,
                         uint64_t bitmap_bytes) {
  MapHeader found{};
  struct stat map_stat{}, image_stat{};
  if (::fstat(map_fd, &map_stat) != 0 || ::fstat(image_fd, &image_stat) != 0)
    return "it cannot be examined";
  if (static_cast<uint64_t>(map_stat.st_size) != kMapHeaderSize + bitmap_bytes ||
      ::pread(map_fd, &found, sizeof found, 0) != static_cast<ssize_t>(sizeof found) ||
      std::memcmp(found.magic, kMapMagic, sizeof kMapMagic) != 0)
    return "it is not a block map of this size";
  if (std::memcmp(found.root_hash, expected.root_hash, 32) != 0)
    return "it belongs to another root hash";
  if (found.data_blocks != expected.data_blocks || found.tree_size != expected.tree_size)
    return "its data blocks or tree size differ from the manifest's";
  if (static_cast<uint64_t>(image_stat.st_size) != image_size)
    return "the image file beside it has the wrong size";
  return "";
}

}  // namespace

BlockCache::BlockCache(CacheKind kind, const VerityParams& params, uint64_t tree_blocks)
    : kind_(kind), params_(params), tree_blocks_(tree_blocks) {
  words_ = (blocks() + 63) / 64;
  bits_ = std::make_unique<std::atomic<uint64_t>[]>(words_);
  for (uint64_t i = 0; i < words_; ++i) bits_[i].store(0, std::memory_order_relaxed);
}

BlockCache::~BlockCache() {
  if (kind_ == CacheKind::kDisk) (void)persist();
  if (tree_map_ && tree_map_ != MAP_FAILED) ::munmap(tree_map_, tree_blocks_ * kBlockSize);
}

Status BlockCache::allocate_and_map() {
  if (tree_blocks_ == 0) return make_error(ErrorCode::kInvalidArgument, "the image has no hash tree");
  tree_map_ = ::mmap(nullptr, tree_blocks_ * kBlockSize, PROT_READ, MAP_SHARED, image_.get(),
                     static_cast<off_t>(data_blocks() * kBlockSize));
  if (tree_map_ == MAP_FAILED) {
    tree_map_ = nullptr;
    return errno_error("mapping the cached hash tree", errno);
  }
  return {};
}

static Status check_params(const VerityParams& params, uint64_t tree_size) {
  if (params.data_block_size != kBlockSize || params.hash_block_size != kBlockSize)
    return make_error(ErrorCode::kUnsupported, "the block cache takes 4096-byte data and hash blocks only");
  if (params.data_blocks == 0 || tree_size == 0 || tree_size % kBlockSize != 0 ||
      VerityGeometry(params.data_blocks, kBlockSize).tree_size() != tree_size)
    return make_error(ErrorCode::kInvalidArgument,
                      "the tree size " + std::to_string(tree_size) + " does not fit " +
                          std::to_string(params.data_blocks) + " data blocks");
  return {};
}

Result<std::unique_ptr<BlockCache>> BlockCache::open_ram(const VerityParams& params,
                                                         uint64_t tree_size) {
  TRY(check_params(params, tree_size));
  std::unique_ptr<BlockCache> cache(new BlockCache(CacheKind::kRam, params, tree_size / kBlockSize));
  cache->image_ = UniqueFd(::memfd_create("goldroot-blockd-cache", MFD_CLOEXEC));
  if (!cache->image_.valid()) return errno_error("memfd_create for the block cache", errno);
  if (::ftruncate(cache->image_.get(), static_cast<off_t>(cache->size())) != 0)
    return errno_error("sizing the block cache memfd", errno);
  TRY(cache->allocate_and_map());
  return cache;
}

Result<std::unique_ptr<BlockCache>> BlockCache::open_disk(const std::string& directory,
                                                          const VerityParams& params,
                                                          uint64_t tree_size) {
  TRY(check_params(params, tree_size));
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) return make_error(ErrorCode::kIo, "creating " + directory + ": " + error.message());
  std::unique_ptr<BlockCache> cache(new BlockCache(CacheKind::kDisk, params, tree_size / kBlockSize));
  std::string root = params.root_hash.hex();
  cache->image_path_ = directory + "/" + root + ".image";
  cache->map_path_ = directory + "/" + root + ".map";
  const uint64_t bitmap_bytes = cache->words_ * 8;
  const MapHeader header = header_for(params, tree_size);

  cache->image_ = UniqueFd(::open(cache->image_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!cache->image_.valid()) return errno_error("opening " + cache->image_path_, errno);
  // Held while open: remove_disk_cache leaves a cache in use alone.
  if (::flock(cache->image_.get(), LOCK_SH | LOCK_NB) != 0)
    return errno_error("locking " + cache->image_path_, errno);
  cache->map_ = UniqueFd(::open(cache->map_path_.c_str(), O_RDWR | O_CLOEXEC));
  bool reuse = false;
  if (cache->map_.valid()) {
    std::string why = map_mismatch(cache->map_.get(), cache->image_.get(), header, cache->size(),
                                   bitmap_bytes);
    if (why.empty()) {
      reuse = true;
    } else {
      std::fprintf(stderr, "goldroot-blockd: discarding the block cache %s: %s; starting empty\n",
                   cache->map_path_.c_str(), why.c_str());
      cache->map_.reset();
    }
  } else if (errno != ENOENT) {
    return errno_error("opening " + cache->map_path_, errno);
  }

  if (reuse) {
    std::unique_ptr<uint64_t[]> loaded(new uint64_t[cache->words_]);
    TRY(pread_all(cache->map_.get(), loaded.get(), bitmap_bytes, kMapHeaderSize, cache->map_path_));
    uint64_t count = 0;
    for (uint64_t i = 0; i < cache->words_; ++i) {
      if (i == cache->words_ - 1 && cache->blocks() % 64 != 0)
        loaded[i] &= (uint64_t{1} << (cache->blocks() % 64)) - 1;
      cache->bits_[i].store(loaded[i], std::memory_order_relaxed);
      count += static_cast<uint64_t>(__builtin_popcountll(loaded[i]));
    }
    cache->present_count_ = count;
    cache->durable_ = std::move(loaded);
  } else {
    // A fresh, empty map first (atomically), then the image's old bytes go:
    // a crash in between leaves an empty map, never bits over other bytes.
    std::string temporary = cache->map_path_ + ".tmp";
    UniqueFd fresh(::open(temporary.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fresh.valid()) return errno_error("creating " + temporary, errno);
    TRY(pwrite_all(fresh.get(), &header, sizeof header, 0, temporary));
    if (::ftruncate(fresh.get(), static_cast<off_t>(kMapHeaderSize + bitmap_bytes)) != 0 ||
        ::fsync(fresh.get()) != 0)
      return errno_error("writing " + temporary, errno);
    if (::rename(temporary.c_str(), cache->map_path_.c_str()) != 0)
      return errno_error("renaming " + temporary, errno);
    UniqueFd directory_fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (directory_fd.valid()) ::fsync(directory_fd.get());
    cache->map_ = std::move(fresh);
    if (::ftruncate(cache->image_.get(), 0) != 0 ||
        ::ftruncate(cache->image_.get(), static_cast<off_t>(cache->size())) != 0)
      return errno_error("sizing " + cache->image_path_, errno);
    cache->durable_.reset(new uint64_t[cache->words_]());
  }
  cache->dirty_words_ = (cache->words_ + kWordsPerPage - 1) / kWordsPerPage;
  cache->dirty_words_ = (cache->dirty_words_ + 63) / 64;
  cache->dirty_pages_ = std::make_unique<std::atomic<uint64_t>[]>(cache->dirty_words_);
  for (uint64_t i = 0; i < cache->dirty_words_; ++i)
    cache->dirty_pages_[i].store(0, std::memory_order_relaxed);
  cache->writing_pages_.reset(new uint64_t[cache->dirty_words_]());
  TRY(cache->allocate_and_map());
  return cache;
}

bool BlockCache::present(uint64_t block) const {
  if (block >= blocks()) return false;
  return (bits_[block / 64].load(std::memory_order_acquire) >> (block % 64)) & 1;
}

void BlockCache::set_bit(uint64_t block) {
  uint64_t mask = uint64_t{1} << (block % 64);
  uint64_t before = bits_[block / 64].fetch_or(mask, std::memory_order_release);
  if (before & mask) return;
  present_count_.fetch_add(1, std::memory_order_relaxed);
  if (dirty_pages_) {
    uint64_t page = block / 64 / kWordsPerPage;
    dirty_pages_[page / 64].fetch_or(uint64_t{1} << (page % 64), std::memory_order_release);
  }
}

void BlockCache::forget(uint64_t block) {
  if (block >= blocks()) return;
  uint64_t mask = uint64_t{1} << (block % 64);
  uint64_t before = bits_[block / 64].fetch_and(~mask, std::memory_order_acq_rel);
  if (!(before & mask)) return;
  present_count_.fetch_sub(1, std::memory_order_relaxed);
  if (dirty_pages_) {
    uint64_t page = block / 64 / kWordsPerPage;
    dirty_pages_[page / 64].fetch_or(uint64_t{1} << (page % 64), std::memory_order_release);
  }
}

Status BlockCache::store(uint64_t first_block, std::string_view bytes) {
  if (bytes.size() % kBlockSize != 0 || first_block + bytes.size() / kBlockSize > blocks())
    return make_error(ErrorCode::kInvalidArgument, "storing outside the block cache");
  TRY(pwrite_all(image_.get(), bytes.data(), bytes.size(), first_block * kBlockSize,
                 kind_ == CacheKind::kDisk ? image_path_ : std::string("the block cache")));
  for (uint64_t i = 0; i < bytes.size() / kBlockSize; ++i) set_bit(first_block + i);
  return {};
}

Status BlockCache::read(uint64_t first_block, uint64_t count, char* out) const {
  if (first_block + count > blocks())
    return make_error(ErrorCode::kInvalidArgument, "reading outside the block cache");
  return pread_all(image_.get(), out, count * kBlockSize, first_block * kBlockSize,
                   kind_ == CacheKind::kDisk ? image_path_ : std::string("the block cache"));
}

Status BlockCache::persist() {
  if (kind_ != CacheKind::kDisk) return {};
  std::lock_guard<std::mutex> lock(persist_mutex_);
  // 1. Copy the changed pages of the bitmap. Every bit copied was set after
  //    its block's pwrite returned, so step 2 makes those bytes durable.
  bool any = false;
  for (uint64_t d = 0; d < dirty_words_; ++d) {
    uint64_t pages = dirty_pages_[d].exchange(0, std::memory_order_acq_rel);
    writing_pages_[d] = pages;
    for (; pages; pages &= pages - 1) {
      uint64_t page = d * 64 + static_cast<uint64_t>(__builtin_ctzll(pages));
      uint64_t end = std::min(words_, (page + 1) * kWordsPerPage);
      for (uint64_t w = page * kWordsPerPage; w < end; ++w)
        durable_[w] = bits_[w].load(std::memory_order_acquire);
      any = true;
    }
  }
  if (!any) return {};
  // 2. The data first.
  if (::fdatasync(image_.get()) != 0) return errno_error("syncing " + image_path_, errno);
  // 3. Then the bits of the pages copied.
  for (uint64_t d = 0; d < dirty_words_; ++d)
    for (uint64_t pages = writing_pages_[d]; pages; pages &= pages - 1) {
      uint64_t page = d * 64 + static_cast<uint64_t>(__builtin_ctzll(pages));
      uint64_t first = page * kWordsPerPage;
      uint64_t count = std::min(words_, first + kWordsPerPage) - first;
      TRY(pwrite_all(map_.get(), durable_.get() + first, count * 8, kMapHeaderSize + first * 8,
                     map_path_));
    }
  if (::fdatasync(map_.get()) != 0) return errno_error("syncing " + map_path_, errno);
  return {};
}

namespace {

bool is_root_hex(std::string_view name) {
  return name.size() == 64 &&
         name.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::vector<std::string> disk_caches_in(const std::string& directory) {
  std::vector<std::string> roots;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    std::string name = entry.path().filename().string();
    if (!name.ends_with(".map")) continue;
    name.resize(name.size() - 4);
    if (is_root_hex(name)) roots.push_back(std::move(name));
  }
  std::sort(roots.begin(), roots.end());
  return roots;
}

Result<DiskCacheFiles> read_disk_cache(const std::string& directory, const std::string& root_hex) {
  DiskCacheFiles files;
  files.root_hex = root_hex;
  files.image_path = directory + "/" + root_hex + ".image";
  const std::string map_path = directory + "/" + root_hex + ".map";
  UniqueFd map(::open(map_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!map.valid()) return errno_error("opening " + map_path, errno);
  files.image = UniqueFd(::open(files.image_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!files.image.valid()) return errno_error("opening " + files.image_path, errno);
  MapHeader header{};
  struct stat map_stat{}, image_stat{};
  if (::pread(map.get(), &header, sizeof header, 0) != static_cast<ssize_t>(sizeof header) ||
      std::memcmp(header.magic, kMapMagic, sizeof kMapMagic) != 0 ||
      ::fstat(map.get(), &map_stat) != 0 || ::fstat(files.image.get(), &image_stat) != 0)
    return make_error(ErrorCode::kCorruption, map_path + " is not a block cache map");
  if (header.data_blocks == 0 || header.tree_size % kBlockSize != 0 ||
      header.data_blocks > (uint64_t{1} << 40) ||
      VerityGeometry(header.data_blocks, kBlockSize).tree_size() != header.tree_size)
    return make_error(ErrorCode::kCorruption, map_path + " names an impossible image geometry");
  const uint64_t blocks = header.data_blocks + header.tree_size / kBlockSize;
  const uint64_t words = (blocks + 63) / 64;
  if (static_cast<uint64_t>(map_stat.st_size) != kMapHeaderSize + words * 8 ||
      static_cast<uint64_t>(image_stat.st_size) != blocks * kBlockSize)
    return make_error(ErrorCode::kCorruption,
                      map_path + " and the image file beside it do not have the sizes it names");
  if (Digest::from_hex(root_hex) == std::nullopt ||
      std::memcmp(Digest::from_hex(root_hex)->bytes.data(), header.root_hash, 32) != 0)
    return make_error(ErrorCode::kCorruption, map_path + " belongs to another root hash");
  files.data_blocks = header.data_blocks;
  files.tree_size = header.tree_size;
  files.bits.reset(new uint64_t[words]);
  TRY(pread_all(map.get(), files.bits.get(), words * 8, kMapHeaderSize, map_path));
  if (blocks % 64 != 0) files.bits[words - 1] &= (uint64_t{1} << (blocks % 64)) - 1;
  return files;
}

bool disk_cache_in_use(const std::string& directory, const std::string& root_hex) {
  const std::string image_path = directory + "/" + root_hex + ".image";
  UniqueFd image(::open(image_path.c_str(), O_RDONLY | O_CLOEXEC));
  return image.valid() && ::flock(image.get(), LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

Status remove_disk_cache(int directory_fd, const std::string& root_hex) {
  const std::string image_path = root_hex + ".image";
  UniqueFd image(::openat(directory_fd, image_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!image.valid())
    return errno == ENOENT ? make_error(ErrorCode::kNotFound, "its files are already gone")
                           : errno_error("opening " + image_path, errno);
  if (::flock(image.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return make_error(ErrorCode::kBusy, "the cache of image " + root_hex.substr(0, 12) +
                                              " is in use by another goldroot-blockd");
    return errno_error("locking " + image_path, errno);
  }
  // The map first: an image file without its map is never taken for a cache.
  for (const char* suffix : {".map", ".image", ".readset"}) {
    std::string path = root_hex + suffix;
    if (::unlinkat(directory_fd, path.c_str(), 0) != 0 && errno != ENOENT)
      return errno_error("removing " + path, errno);
  }
  return {};
}

}  // namespace goldroot::blockd

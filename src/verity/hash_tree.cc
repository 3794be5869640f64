#include "verity/hash_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "base/scope_guard.h"

namespace goldroot {
namespace {

constexpr uint32_t kDigestSize = 32;

int log2_of(uint32_t value) {
  int bits = 0;
  while ((1u << (bits + 1)) <= value) ++bits;
  return bits;
}

}  // namespace

VerityGeometry::VerityGeometry(uint64_t data_blocks, uint32_t hash_block_size)
    : data_blocks_(data_blocks), hash_block_size_(hash_block_size),
      bits_(log2_of(hash_block_size / kDigestSize)) {
  int levels = 0;
  while (bits_ * levels < 64 && data_blocks > 0 && ((data_blocks - 1) >> (bits_ * levels)) != 0)
    ++levels;
  level_start_.resize(levels);
  uint64_t position = 0;
  for (int i = levels - 1; i >= 0; --i) {  // the top level first
    level_start_[i] = position;
    position += level_blocks(i);
  }
  tree_blocks_ = position;
}

uint64_t VerityGeometry::level_blocks(int level) const {
  int shift = (level + 1) * bits_;
  if (shift >= 64) return 1;
  return (data_blocks_ + (uint64_t{1} << shift) - 1) >> shift;
}

uint64_t VerityGeometry::hash_offset(int level, uint64_t index) const {
  uint64_t block = level_start_[level] + (index >> bits_);
  uint64_t entry = index & ((uint64_t{1} << bits_) - 1);
  return block * hash_block_size_ + entry * kDigestSize;
}

Digest verity_block_hash(std::string_view salt, const void* block, size_t size) {
  Sha256 hasher;
  hasher.update(salt);
  hasher.update(block, size);
  return hasher.finish();
}

Result<BuiltTree> build_verity_tree(uint64_t data_blocks, uint32_t data_block_size,
                                    uint32_t hash_block_size, std::string_view salt,
                                    const ReadBlock& read) {
  if (data_blocks == 0)
    return make_error(ErrorCode::kInvalidArgument, "a verity tree needs at least one data block");
  if (salt.size() > 256)
    return make_error(ErrorCode::kInvalidArgument, "a verity salt is at most 256 bytes");
  VerityGeometry geometry(data_blocks, hash_block_size);
  BuiltTree built;
  built.tree.assign(geometry.tree_size(), '\0');
  std::string block(data_block_size, '\0');
  Digest single;
  for (uint64_t index = 0; index < data_blocks; ++index) {
    TRY(read(index, block.data()));
    Digest digest = verity_block_hash(salt, block.data(), block.size());
    if (geometry.levels() == 0) single = digest;
    else std::memcpy(built.tree.data() + geometry.hash_offset(0, index), digest.bytes.data(), kDigestSize);
  }
  if (geometry.levels() == 0) {  // one data block: the root is its hash
    built.root_hash = single;
    return built;
  }
  for (int level = 0; level + 1 < geometry.levels(); ++level)
    for (uint64_t k = 0; k < geometry.level_blocks(level); ++k) {
      const char* hash_block = built.tree.data() + (geometry.level_start(level) + k) * hash_block_size;
      Digest digest = verity_block_hash(salt, hash_block, hash_block_size);
      std::memcpy(built.tree.data() + geometry.hash_offset(level + 1, k), digest.bytes.data(), kDigestSize);
    }
  const char* top = built.tree.data() + geometry.level_start(geometry.levels() - 1) * hash_block_size;
  built.root_hash = verity_block_hash(salt, top, hash_block_size);
  return built;
}

Result<BuiltTree> build_verity_tree_of_file(const std::string& path, uint32_t data_block_size,
                                            uint32_t hash_block_size, std::string_view salt) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("open " + path, errno);
  ScopeGuard close_fd([fd] { ::close(fd); });
  struct stat st;
  if (::fstat(fd, &st) != 0) return errno_error("stat " + path, errno);
  if (st.st_size == 0 || st.st_size % data_block_size != 0)
    return make_error(ErrorCode::kInvalidArgument,
                      path + " is " + std::to_string(st.st_size) +
                          " bytes, not a whole number of " + std::to_string(data_block_size) +
                          "-byte blocks");
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  auto read = [&](uint64_t index, char* buffer) -> Status {
    off_t offset = static_cast<off_t>(index * data_block_size);
    size_t done = 0;
    while (done < data_block_size) {
      ssize_t got = ::pread(fd, buffer + done, data_block_size - done, offset + done);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return errno_error("read " + path, errno);
      if (got == 0) return make_error(ErrorCode::kCorruption, path + " shrank while it was hashed");
      done += got;
    }
    return ok_status();
  };
  return build_verity_tree(st.st_size / data_block_size, data_block_size, hash_block_size, salt,
                           read);
}

Status verify_verity_tree(std::string_view tree, const VerityParams& params) {
  VerityGeometry geometry(params.data_blocks, params.hash_block_size);
  if (tree.size() != geometry.tree_size())
    return make_error(ErrorCode::kCorruption,
                      "the verity tree is " + std::to_string(tree.size()) + " bytes, not the " +
                          std::to_string(geometry.tree_size()) + " its parameters need");
  if (geometry.levels() == 0) return ok_status();  // the root hash is the data block's
  const uint32_t size = params.hash_block_size;
  for (int level = 0; level + 1 < geometry.levels(); ++level)
    for (uint64_t k = 0; k < geometry.level_blocks(level); ++k) {
      Digest digest = verity_block_hash(params.salt, tree.data() + (geometry.level_start(level) + k) * size, size);
      if (std::memcmp(tree.data() + geometry.hash_offset(level + 1, k), digest.bytes.data(), kDigestSize) != 0)
        return make_error(ErrorCode::kCorruption,
                          "verity hash block " + std::to_string(k) + " of level " +
                              std::to_string(level) + " does not match the level above");
    }
  Digest top = verity_block_hash(params.salt, tree.data() + geometry.level_start(geometry.levels() - 1) * size, size);
  if (top != params.root_hash)
    return make_error(ErrorCode::kCorruption, "the verity tree does not match the signed root hash");
  return ok_status();
}

bool verity_block_matches(std::string_view tree, const VerityParams& params,
                          const VerityGeometry& geometry, uint64_t index, const void* block) {
  if (index >= params.data_blocks) return false;
  Digest digest = verity_block_hash(params.salt, block, params.data_block_size);
  if (geometry.levels() == 0) return digest == params.root_hash;
  uint64_t offset = geometry.hash_offset(0, index);
  return offset + kDigestSize <= tree.size() &&
         std::memcmp(tree.data() + offset, digest.bytes.data(), kDigestSize) == 0;
}

}  // namespace goldroot

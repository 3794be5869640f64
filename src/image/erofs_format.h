// The EROFS on-disk format, as the Linux kernel's fs/erofs/erofs_fs.h
// defines it: the constants goldroot's writer uses and little-endian
// encoders for the superblock, extended inodes, directory entries and the
// full (legacy) lcluster indexes of compressed files.
//
// Only what the writer emits is here: 4 KiB blocks, extended (64-byte)
// inodes so that every inode carries 32-bit ids and a nanosecond mtime,
// inline xattrs, and LZ4 with zero padding and one-block physical clusters.
// Pure functions; no state.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace goldroot::erofs {

constexpr uint32_t kMagic = 0xE0F5E1E2;
constexpr uint32_t kBlockBits = 12;
constexpr uint32_t kBlockSize = 1u << kBlockBits;
constexpr uint32_t kSuperBlockOffset = 1024;
constexpr uint32_t kSuperBlockSize = 128;
constexpr uint32_t kInodeSlotBits = 5;  // nid = (offset in the metadata area) / 32
constexpr uint32_t kExtendedInodeSize = 64;
constexpr uint32_t kDirentSize = 12;
constexpr uint32_t kNameMax = 255;

// feature_incompat: LZ4 data sits at the end of its block after zeros, so
// the decompressor knows the compressed length.
constexpr uint32_t kFeatureIncompatZeroPadding = 0x00000001;

// i_format: bit 0 version (1 = extended), bits 1-3 data layout.
enum DataLayout : uint16_t {
  kFlatPlain = 0,
  kCompressedFull = 1,
  kFlatInline = 2,
};

// erofs_dirent.file_type
enum FileTypeCode : uint8_t {
  kFtRegular = 1,
  kFtDirectory = 2,
  kFtCharDevice = 3,
  kFtBlockDevice = 4,
  kFtFifo = 5,
  kFtSocket = 6,
  kFtSymlink = 7,
};

// erofs_xattr_entry.e_name_index
enum XattrIndex : uint8_t {
  kXattrUser = 1,
  kXattrPosixAclAccess = 2,
  kXattrPosixAclDefault = 3,
  kXattrTrusted = 4,
  kXattrSecurity = 6,
};
constexpr uint32_t kXattrIbodyHeaderSize = 12;
constexpr uint32_t kXattrEntryHeaderSize = 4;

// z_erofs_lcluster_index.di_advise, bits 0-1.
enum LclusterType : uint16_t {
  kLclusterPlain = 0,
  kLclusterHead1 = 1,
  kLclusterNonHead = 2,
};
constexpr uint32_t kMapHeaderSize = 8;      // z_erofs_map_header
constexpr uint32_t kLegacyHeaderSize = 16;  // the map header and 8 reserved bytes
constexpr uint32_t kLclusterIndexSize = 8;
constexpr uint16_t kMaxDelta0 = 0x7ff;  // bit 11 would mean a block count

inline void put16(char* at, uint16_t value) {
  at[0] = static_cast<char>(value);
  at[1] = static_cast<char>(value >> 8);
}
inline void put32(char* at, uint32_t value) {
  for (int i = 0; i < 4; ++i) at[i] = static_cast<char>(value >> (8 * i));
}
inline void put64(char* at, uint64_t value) {
  for (int i = 0; i < 8; ++i) at[i] = static_cast<char>(value >> (8 * i));
}

constexpr uint64_t round_up(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}
constexpr uint64_t blocks_for(uint64_t bytes) { return (bytes + kBlockSize - 1) >> kBlockBits; }

// struct erofs_inode_extended
struct ExtendedInode {
  DataLayout layout = kFlatPlain;
  uint16_t xattr_icount = 0;
  uint16_t mode = 0;  // type and permission bits
  uint64_t size = 0;
  uint32_t union_word = 0;  // raw_blkaddr, rdev, or compressed_blocks
  uint32_t ino = 0;
  uint32_t uid = 0, gid = 0;
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  uint32_t nlink = 1;

  void encode(char* out) const {
    std::memset(out, 0, kExtendedInodeSize);
    put16(out + 0, static_cast<uint16_t>(1 | (layout << 1)));
    put16(out + 2, xattr_icount);
    put16(out + 4, mode);
    put64(out + 8, size);
    put32(out + 16, union_word);
    put32(out + 20, ino);
    put32(out + 24, uid);
    put32(out + 28, gid);
    put64(out + 32, static_cast<uint64_t>(mtime_sec));
    put32(out + 40, mtime_nsec);
    put32(out + 44, nlink);
  }
};

// struct erofs_super_block, written at byte 1024 of block 0.
struct SuperBlock {
  uint16_t root_nid = 0;
  uint64_t inodes = 0;
  uint32_t blocks = 0;
  uint32_t meta_blkaddr = 0;
  uint32_t feature_incompat = kFeatureIncompatZeroPadding;
  unsigned char uuid[16] = {};

  void encode(char* out) const {
    std::memset(out, 0, kSuperBlockSize);
    put32(out + 0, kMagic);
    out[12] = static_cast<char>(kBlockBits);
    put16(out + 14, root_nid);
    put64(out + 16, inodes);
    put32(out + 36, blocks);
    put32(out + 40, meta_blkaddr);
    std::memcpy(out + 48, uuid, sizeof(uuid));
    put32(out + 80, feature_incompat);
  }
};

// The kernel's new_encode_dev(): what i_u.rdev holds.
inline uint32_t encode_device(uint32_t major, uint32_t minor) {
  return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

}  // namespace goldroot::erofs

// Writing a commit straight from the store as an EROFS image — the file
// clients loop-mount as their read-only lower layer — without a checkout
// and without mkfs.erofs.
//
// The image reproduces the commit exactly: every file type, permission bits
// with setuid/setgid/sticky, 32-bit owners, nanosecond mtimes (every inode
// is an extended one), xattrs in the user/trusted/security namespaces and
// POSIX ACLs, hardlinks as one inode. Regular files are LZ4HC-compressed in
// one-block physical clusters on a thread pool, or kept flat when that does
// not save a block; small tails, symlinks and small directories sit inline
// after their inode.
//
// Layout: block 0 holds the superblock; file data follows in commit order
// (so the same commit gives the same bytes); then the metadata area (inodes,
// root first) and the blocks of large directories. Given the layout of a
// previous export (ErofsOptions::base, image/erofs_layout.h), unchanged
// files keep their blocks and inodes their nids, and the rest goes into
// the holes left by what changed or at the end; the same commit and base
// give the same bytes.
//
// Memory: each worker holds one file (past ErofsOptions::stream_threshold,
// a 4 MiB window of it) and its encoded blocks; finished files wait, at
// most 256 of them, to be written in order.
#pragma once

#include <string>

#include "image/erofs_layout.h"
#include "store/store.h"

namespace goldroot {

enum class ErofsCompression { kNone, kLz4hc };

struct ErofsOptions {
  ErofsCompression compression = ErofsCompression::kLz4hc;
  int lz4hc_level = 9;   // mkfs.erofs -zlz4hc's default
  unsigned threads = 0;  // 0: one per core
  // Files larger than this are compressed and written through a window
  // rather than held whole in memory.
  uint64_t stream_threshold = 64u << 20;
  // The layout of the previous export to keep put; null for a fresh one.
  const erofs::ErofsLayout* base = nullptr;
};

// What decides a file's encoded blocks besides its bytes ("lz4hc:9"):
// a base written with other options cannot be reused.
std::string erofs_encoding(const ErofsOptions& options);

struct ErofsStats {
  uint64_t inodes = 0;
  uint64_t blocks = 0;
  uint64_t compressed_files = 0;
  erofs::ErofsLayout layout;  // what to keep beside the image for the next export
  bool used_base = false;
  // Why a base given was not used ("its metadata blocks overlap"); the
  // image then has a fresh layout.
  std::string base_note;
};

// Writes the image of `commit` to `output` (created or truncated).
Result<ErofsStats> write_erofs(const Store& store, const Digest& commit, const std::string& output,
                               const ErofsOptions& options);

}  // namespace goldroot

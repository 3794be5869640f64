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
// root first) and the blocks of large directories.
//
// Memory: each worker holds one file (past ErofsOptions::stream_threshold,
// a 4 MiB window of it) and its encoded blocks; finished files wait, at
// most 256 of them, to be written in order.
#pragma once

#include <string>

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
};

struct ErofsStats {
  uint64_t inodes = 0;
  uint64_t blocks = 0;
  uint64_t compressed_files = 0;
};

// Writes the image of `commit` to `output` (created or truncated).
Result<ErofsStats> write_erofs(const Store& store, const Digest& commit, const std::string& output,
                               const ErofsOptions& options);

}  // namespace goldroot

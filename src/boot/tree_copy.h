// copy_tree: copies a directory tree as a root filesystem needs it —
// regular files (copy_file_range), directories, symlinks, device nodes,
// fifos, hardlinks kept as hardlinks, owners, modes, xattrs (security.*,
// user.*, system.posix_acl_*; never trusted.overlay.*) and mtimes — without
// following symlinks or leaving the source's filesystem. Install mode uses
// it to write the merged image onto a local partition.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace goldroot::boot {

struct CopyStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;
};

// `target` must exist and be empty.
Result<CopyStats> copy_tree(const std::string& source, const std::string& target);

}  // namespace goldroot::boot

// Opening a path below a directory fd without ever following a symlink
// (openat2 with RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH). Lower trees hold
// absolute symlinks such as /lib -> usr/lib that must not lead a lookup out
// of the tree, and overlayfs itself never resolves them during lookup.
#pragma once

#include <string>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace goldroot {

// `path` is relative ("etc/fstab"); "" opens `dir_fd` itself. Fails with
// kNotFound when a component is missing, a symlink or not a directory.
Result<UniqueFd> open_beneath(int dir_fd, const std::string& path, int flags,
                              const std::string& display);

}  // namespace goldroot

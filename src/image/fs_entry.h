// Reading and writing one filesystem object's metadata as an Entry: the
// shared vocabulary of import, checkout and the overlay readers.
//
// Paths are given as a directory fd plus a name, so walks never follow a
// symlink planted in the tree and never re-resolve long paths.
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "store/tree.h"

namespace goldroot {

// Fills every field but `digest` (and `size` for non-files) from `st`,
// reads the symlink target and xattrs. `display` names the path in errors.
Result<Entry> read_entry(int dir_fd, const std::string& name, const struct stat& st,
                         const std::string& display);
Result<Xattrs> read_xattrs(int dir_fd, const std::string& name, const std::string& display);

// Applies owner, mode, xattrs and mtime of `entry` to an existing object,
// in the order that keeps them (chown clears setuid bits and file
// capabilities, so it comes first; mtime comes last).
Status apply_metadata(int dir_fd, const std::string& name, const Entry& entry,
                      const std::string& display);

// Creates a non-regular, non-directory object (symlink, device, fifo,
// socket) named `name` in `dir_fd`.
Status create_special(int dir_fd, const std::string& name, const Entry& entry,
                      const std::string& display);

// "/proc/self/fd/N/name": a path for the *at-less xattr calls.
std::string fd_path(int dir_fd, const std::string& name);

}  // namespace goldroot

// Unpacking an upper dir that a host's agent uploaded (upper_archive.h)
// into an empty directory, as it was on the host: owners, modes,
// nanosecond mtimes, every xattr (the overlay's own included), whiteout
// devices and hard links — so capture.h reads it as it would read a local
// upper. Uses libarchive (loaded on first use).
//
// The archive comes from a client, so nothing in it may reach outside
// `destination`: absolute names and ".." are refused, and no member is
// written through a symlink (libarchive's SECURE_* checks). A malformed or
// truncated archive is a Corruption error naming the member. Needs root for
// trusted.* xattrs, devices and owners. Functions only.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace goldroot {

// Unpacks `archive` (a tar file) into the existing, empty `destination`;
// returns the number of members.
Result<uint64_t> unpack_upper_archive(const std::string& archive, const std::string& destination);

}  // namespace goldroot

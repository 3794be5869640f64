// Unpacking the host's config layer (GET /layers/<host>.tar) into the
// overlay's middle directory, without libarchive: a small reader for the
// ustar and pax archives goldroot's layer writer produces.
//
// Handles regular files, directories, symlinks, hard links, and character
// or block devices — a char 0/0 device is an overlayfs whiteout, which is
// how the layer deletes an image file. pax records set path, linkpath,
// size, uid, gid, mtime and SCHILY.xattr.* (so trusted.overlay.opaque
// survives); GNU long names ('L'/'K') are read too. Ownership and modes are
// applied as stored (we are root in the initramfs).
//
// Every member must stay beneath the destination: absolute names are made
// relative, ".." is refused, and parents are opened one directory at a time
// with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS (missing ones made in the step
// already opened), so a symlink in the archive cannot redirect a later
// member. Owners and modes are set through the member's own fd, or by name
// without following symlinks; a directory member over an existing
// non-directory, and a hard link whose target is not reached beneath without
// symlinks, are refused. A malformed archive is a Corruption error naming
// the member. Functions only.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot::boot {

struct UnpackReport {
  size_t entries = 0;
  size_t whiteouts = 0;
};

// Unpacks `archive` (the whole tar in memory; layers are small) into the
// existing directory `destination`.
Result<UnpackReport> unpack_layer_tar(std::string_view archive, const std::string& destination);

}  // namespace goldroot::boot

// The kernel's overlayfs on-disk conventions (Documentation/filesystems/
// overlayfs.rst), as goldroot reads them from an upper dir or a layer:
//
//   whiteout       a char 0/0 device node; or ("xwhiteout") a zero-size regular
//                  file with the xattr overlay.whiteout inside a directory
//                  marked overlay.opaque="x" (older kernels: overlay.whiteouts).
//                  The kernel honours xwhiteouts only in lower layers; goldroot
//                  honours them everywhere, so a layer dir reads the same
//                  whether it is stacked as an upper or as a lower.
//   opaque dir     overlay.opaque="y": nothing of the lower shows through.
//                  "x" is not opaque: it only marks a dir holding xwhiteouts.
//   redirect       overlay.redirect on a renamed directory (or, with metacopy,
//                  a renamed file): "/abs/lower/path", or one name relative to
//                  the parent's own lower counterpart.
//   metacopy       overlay.metacopy on a regular file: only metadata was
//                  copied up; the bytes still come from the lower (following
//                  the redirect, if any).
//
// The prefix is "trusted.overlay." by default and "user.overlay." for mounts
// made with `userxattr`. Every xattr under the prefix is private to overlayfs
// and hidden from the merged view, except escaped ones ("<prefix>overlay.X"),
// which the merged view shows as "<prefix>X".
#pragma once

#include <sys/stat.h>

#include <optional>
#include <string>
#include <string_view>

#include "store/tree.h"

namespace goldroot {

enum class XattrNamespace { kTrusted, kUser };

class OverlayConventions {
 public:
  explicit OverlayConventions(XattrNamespace space = XattrNamespace::kTrusted);

  const std::string& prefix() const { return prefix_; }
  // The value of "<prefix><suffix>" in `raw`, if set.
  std::optional<std::string> get(const Xattrs& raw, std::string_view suffix) const;
  // The xattrs the merged view shows for an object whose raw xattrs are `raw`.
  Xattrs visible(const Xattrs& raw) const;

  bool is_opaque(const Xattrs& raw) const;
  // The dir may hold xattr whiteouts (opaque="x", or the older "whiteouts").
  bool holds_xwhiteouts(const Xattrs& raw) const;
  bool is_xwhiteout(const struct stat& st, const Xattrs& raw) const;
  bool is_metacopy(const Xattrs& raw) const;

 private:
  std::string prefix_;
};

// A char 0/0 device node: the classic whiteout.
bool is_whiteout_device(const struct stat& st);

}  // namespace goldroot

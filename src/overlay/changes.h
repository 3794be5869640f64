// Reading what changed on a machine: its overlay upper dir compared, path
// by path, with the lower it sits on. This is the API the client agent
// calls to summarize its own upper, and what `goldroot changes` prints.
//
// Kinds, per merged path:
//   added         nothing was there in the lower
//   modified      content differs (file bytes, symlink target, device number)
//   metadata      same content; `fields` says which of mode, owner, mtime, xattrs
//   deleted       a whiteout hides a lower object (a whole dir is one line)
//   opaque        a lower directory replaced as a whole (rm -r, then mkdir)
//   type-changed  a file became a directory, a directory a symlink, …
//   renamed       a directory (redirect_dir) or a metacopy file moved from
//                 `from`; the whiteout left at `from` is folded into it
// Below an added, opaque or type-changed directory every entry is added.
//
// Two deliberate omissions, both consequences of other reported changes: a
// directory whose only difference is its mtime when a change is reported
// inside it, and the root directory's mtime (the upper root is made when the
// overlay is set up). Whiteouts over nothing are not changes either.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "overlay/conventions.h"
#include "overlay/ignore_list.h"
#include "overlay/lower.h"

namespace goldroot {

struct Change {
  enum class Kind { kAdded, kModified, kMetadata, kDeleted, kOpaque, kTypeChanged, kRenamed };
  static constexpr size_t kKinds = 7;

  std::string path;  // merged path: "/etc/fstab"
  Kind kind = Kind::kAdded;
  FileType type = FileType::kRegular;   // what the merged view shows (the lower's if deleted)
  std::optional<FileType> old_type;     // type-changed
  uint64_t size = 0;                    // regular files
  std::string from;                     // renamed: "/old/path"
  bool content_changed = false;         // renamed, or modified
  std::vector<std::string> fields;      // metadata differences
  bool ignored = false;
};

const char* change_kind_name(Change::Kind kind);

struct ChangeSet {
  std::vector<Change> changes;  // merged path order, ignored ones included
  std::array<uint64_t, Change::kKinds> counts{};  // not ignored, by kind
  uint64_t ignored = 0;
  uint64_t upper_objects = 0;   // entries in the upper dir, whiteouts included
  uint64_t upper_bytes = 0;     // regular file bytes the upper holds

  // Something outside the ignore list changed.
  bool dirty() const;
  uint64_t count(Change::Kind kind) const { return counts[static_cast<size_t>(kind)]; }
  // "3 added, 1 modified, 2 deleted (5 ignored)" or "no changes".
  std::string summary() const;
};

struct ChangeOptions {
  XattrNamespace xattrs = XattrNamespace::kTrusted;  // kUser for `userxattr` mounts
};

Result<ChangeSet> read_changes(Lower& lower, const std::string& upper_dir,
                               const IgnoreList& ignore, const ChangeOptions& options = {});

}  // namespace goldroot

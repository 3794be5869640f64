// Comparing two commits path by path. Subtrees with the same digest are
// skipped without being read, so the cost follows the difference.
#pragma once

#include <functional>
#include <string>

#include "store/store.h"

namespace goldroot {

enum class ChangeKind { kAdded, kModified, kMetadata, kDeleted };

const char* change_kind_name(ChangeKind kind);

struct TreeChange {
  std::string path;  // "/etc/fstab"
  ChangeKind kind;
  const Entry* old_entry;  // null for kAdded
  const Entry* new_entry;  // null for kDeleted
};

// Calls `visit` for each difference, in path order. A type change is
// reported as kModified; a directory added or deleted is reported along with
// everything inside it.
Status diff_commits(const Store& store, const Digest& from, const Digest& to,
                    const std::function<void(const TreeChange&)>& visit);

}  // namespace goldroot

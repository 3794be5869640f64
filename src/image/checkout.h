// Checking out a commit into a directory: every byte and every piece of
// metadata the import saw, hardlinks as hardlinks, directory mtimes
// included (set after their contents, deepest first).
#pragma once

#include <string>

#include "store/store.h"

namespace goldroot {

struct CheckoutStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;
};

// `target` must not exist, or be an empty directory.
Result<CheckoutStats> checkout(const Store& store, const Digest& commit,
                               const std::string& target);

// Copies a file object's bytes into `out_fd` (reflink when the filesystem
// can, else copy_file_range). Shared with export.
Status copy_object(const ObjectStore& objects, const Digest& digest, uint64_t size, int out_fd,
                   const std::string& display);

}  // namespace goldroot

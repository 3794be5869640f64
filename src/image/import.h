// Importing a root tree — a directory or a tar archive — as a new commit of
// an image. The image ref moves only after every object and the commit are
// durable, so a crash leaves either the old ref or the complete new commit.
#pragma once

#include <string>
#include <vector>

#include "store/store.h"

namespace goldroot {

struct ImportOptions {
  std::string name;     // image ref to create or advance
  std::string message;
};

struct ImportStats {
  uint64_t entries = 0;        // paths in the tree, root excluded
  uint64_t size = 0;           // bytes of regular file content
  uint64_t files_hashed = 0;   // regular files read and hashed
  uint64_t files_cached = 0;   // regular files taken from the stat cache
  uint64_t bytes_written = 0;  // bytes of new file objects
  uint64_t objects_written = 0;
  // Where the time went (directory imports): metadata walk, file contents,
  // and making everything durable.
  double walk_seconds = 0, content_seconds = 0, commit_seconds = 0;
};

struct ImportResult {
  Digest commit;
  ImportStats stats;
};

Result<ImportResult> import_directory(Store& store, const std::string& source,
                                      const ImportOptions& options);
Result<ImportResult> import_tar(Store& store, const std::string& archive,
                                const ImportOptions& options);

// The tail every import shares: writes the root tree and commit (with the
// image's current commit as parent), makes the transaction durable, then
// moves the image ref.
Result<Digest> write_commit(Store& store, Transaction& transaction, const Entry& root,
                            const ImportStats& stats,
                            std::vector<std::vector<std::string>> hardlinks,
                            const ImportOptions& options,
                            std::vector<Digest> extra_parents = {});

}  // namespace goldroot

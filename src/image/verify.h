// fsck and gc: checking every object of a store, and removing the ones no
// ref needs.
#pragma once

#include <string>
#include <vector>

#include "store/store.h"

namespace goldroot {

struct Problem {
  std::string kind;  // "corrupt" or "missing"
  ObjectType type;
  Digest digest;
  std::string detail;
  std::vector<std::string> needed_by;  // "image web", "channel gold"
};

struct FsckReport {
  uint64_t objects_checked = 0;
  uint64_t bytes_checked = 0;
  std::vector<Problem> problems;
};

// Re-hashes every object on disk, then walks every ref's history and names
// each missing or corrupt object with the refs that need it.
Result<FsckReport> fsck(const Store& store);

struct GcReport {
  uint64_t objects_removed = 0;
  uint64_t bytes_freed = 0;
  uint64_t objects_kept = 0;
};

// Removes every object not reachable from a ref or from `extra_roots`
// (commits the site needs beyond refs: pins, recent channel history; see
// fleet/site_roots.h). A corrupt or missing reachable object stops gc before
// it removes anything.
Result<GcReport> gc(Store& store,
                    const std::map<Digest, std::vector<std::string>>& extra_roots = {});

}  // namespace goldroot

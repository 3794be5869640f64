// StatCache remembers, per imported source tree, each regular file's stat
// data and content digest (git's index), so that re-importing a tree hashes
// only files whose stat data changed.
//
// A file is trusted only if inode, size, mtime and ctime all match (ctime
// changes on every write, chmod, chown or xattr change, and cannot be set
// from user space). Entries whose times are within two seconds of the import
// that recorded them are not kept ("racily clean" in git's words), and a
// cache that fails its checksum is ignored: when in doubt, hash.
//
// Not thread-safe.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/hash.h"
#include "sys/env.h"

namespace goldroot {

class StatCache {
 public:
  // The cache file for source tree `source` (an absolute path) in `dir`.
  StatCache(Env* env, const std::string& dir, const std::string& source);

  // Loads the previous import's records; a missing or damaged file is an
  // empty cache. `gc_generation` is the store's current one (see
  // Store::gc_generation): if no gc ran since the cache was saved, every
  // object it names is still in the store.
  void load(uint64_t gc_generation);
  bool objects_present() const { return objects_present_; }
  std::optional<Digest> lookup(const std::string& path, const struct stat& st) const;
  void record(const std::string& path, const struct stat& st, const Digest& digest);
  // Saves this import's records (atomically; not fsynced: it is only a cache).
  // `started_ns` is when this import began.
  Status save(int64_t started_ns);


  size_t size() const { return previous_.size(); }

 private:
  struct Record {
    uint64_t inode = 0, size = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    Digest digest;
  };
  static Record make_record(const struct stat& st, const Digest& digest);

  Env* env_;
  std::string path_;
  uint64_t generation_ = 0;
  bool objects_present_ = false;
  std::unordered_map<std::string, Record> previous_;
  std::unordered_map<std::string, Record> current_;
};

}  // namespace goldroot

// The replica set: which files of a site a secondary server copies from its
// primary, and the index the primary offers of them.
//
// A secondary shares the primary's database (PostgreSQL) and keys (copied
// once by the admin); everything else a client's boot needs lives in files,
// and those are the replica set, named by their path under SITE:
//   site.json                the site's settings
//   layers/…                 configuration layers
//   store/objects/…          content-addressed objects (named by SHA-256)
//   store/refs/…             image and channel refs
//   store/channel-journal    the channels' history
//   exports/…                exported images, their verity trees, layouts
//                            and records (not exports/uki/ or
//                            exports/initrd/: each server builds its own)
// Never: keys/, the database, uploads/, logs/, dnsmasq/, store/tmp and
// store/cache, and outside layers/ no hidden or temporary file (".x",
// "x.tmp"); nowhere a secondary's own download (kReplicaPartSuffix).
//
// The index lists each file with its size, SHA-256, mode and owner. An
// object's digest is its name (the secondary checks the bytes anyway);
// other files are hashed once per version (inode, size, mtime), so asking
// again costs a stat per file. Under layers/ (whose files keep their
// metadata in every host's layer) symlinks and directories are listed too,
// with their targets, modes and owners; elsewhere a symlink is neither
// followed nor listed.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "base/hash.h"
#include "base/result.h"

namespace goldroot {

// What a secondary's file is called while it downloads: "<path><suffix>".
inline constexpr std::string_view kReplicaPartSuffix = ".goldroot-replica-part";

// Whether `path` (relative to SITE, '/'-separated) belongs to the replica
// set. Refuses absolute paths, "." and ".." and empty components.
bool is_replicated(std::string_view path);

enum class ReplicaKind { kFile, kSymlink, kDirectory };

struct ReplicaFile {
  std::string path;  // relative to SITE
  ReplicaKind kind = ReplicaKind::kFile;
  uint64_t size = 0;       // files
  Digest sha256;           // files
  std::string target;      // symlinks
  uint32_t mode = 0644;    // permission bits (with setuid, setgid, sticky)
  uint32_t uid = 0, gid = 0;
  bool operator==(const ReplicaFile&) const = default;
};

// The order a secondary publishes files in, so that no reader ever sees a
// name before what it names: objects, then export files, export records,
// layers, refs, the journal, and site.json last.
int publish_rank(std::string_view path);

// {"version": 1, "files": [{"path", "kind", "size", "sha256", "target",
// "mode", "uid", "gid"}…]} and back. parse refuses a path outside the
// replica set, a symlink or directory outside layers/, and a malformed
// entry with one sentence.
std::string index_to_json(const std::vector<ReplicaFile>& files);
Result<std::vector<ReplicaFile>> index_from_json(std::string_view text);

// Hashes files once per version. Thread-safe.
class DigestCache {
 public:
  // The file's size and SHA-256 (kNotFound if it vanished).
  Result<std::pair<uint64_t, Digest>> digest(const std::string& path);

 private:
  using Stamp = std::tuple<uint64_t, uint64_t, int64_t, int64_t>;  // inode, size, mtime
  std::mutex mutex_;
  std::map<std::string, std::pair<Stamp, Digest>> digests_;
};

// The replica set present in the site at `root`, sorted by path. With
// `cache`, files get their size and SHA-256 (objects by their names, others
// hashed through it); without, only their paths, kinds and metadata.
Result<std::vector<ReplicaFile>> list_replica_set(const std::string& root,
                                                  DigestCache* cache = nullptr);

}  // namespace goldroot

// Pulling a secondary's replica set from its primary (replica_set.h), over
// the primary's admin API, TLS with the site's pinned key:
//   GET /api/v1/replica/index          the index (bootserver/replica_routes.h)
//   GET /api/v1/replica/files/<path>   one file, Range-capable
//
// A pull fetches the index, then every file the secondary lacks or holds
// in another version, into "<path>.goldroot-replica-part" beside its final
// name. A part left by an interrupted pull is resumed with a Range request;
// a file is published (fsync, rename, fsync of the directory:
// Env::publish_file) only once its size and SHA-256 are the index's, in
// publish_rank order, so a ref never names an object the secondary lacks.
// A resumed file that fails its check is fetched once more from the start;
// a file that fails again stops the pull with one sentence and is not kept.
// Layers' symlinks and directories are made as listed; every entry gets
// the index's mode and owner. Last, what the primary no longer lists (gc,
// rm) is removed.
//
// The primary's answers are trusted only as far as their digests: a file's
// bytes must hash to what the index says, an object's to its name.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.h"
#include "replica/replica_set.h"
#include "site/site.h"
#include "sys/env.h"

namespace goldroot {

struct ReplicaSource {
  std::string primary_url;  // "https://primary:8443/"
  std::string admin_token;  // the site's SITE/keys/admin.token
  std::string tls_pin;      // "sha256//…" of the site's TLS key
};

// A secondary site's source: its primary's URL, and the admin token and
// TLS pin from the keys it shares with it. kNotFound on a primary.
Result<ReplicaSource> replica_source(const Site& site);

struct PullSummary {
  uint64_t files = 0;          // in the index
  uint64_t fetched_files = 0;  // downloaded (whole or resumed)
  uint64_t fetched_bytes = 0;  // bytes that crossed the network
  uint64_t kept_bytes = 0;     // bytes the secondary already had
  uint64_t removed_files = 0;
  bool changed() const { return fetched_files || removed_files; }
};

// "fetched 3 files (12.0 MiB), kept 1024 (286 MiB), removed 1"
std::string describe(const PullSummary& summary);

// One pull into the site at `root`. `cache` remembers local digests
// between pulls (a long-running secondary hashes each file once).
Result<PullSummary> pull_replica(Env* env, const std::string& root, const ReplicaSource& source,
                                 DigestCache& cache);

// What `goldroot serve` runs on a secondary: a pull at once, then one every
// `interval`, until destroyed. Prints a line to stderr for each pull that
// changed something, and for a failure (once, until a pull succeeds
// again); the server keeps serving what it has meanwhile.
class ReplicaFollower {
 public:
  ReplicaFollower(Env* env, std::string root, ReplicaSource source,
                  std::chrono::milliseconds interval);
  ~ReplicaFollower();

 private:
  void run();

  Env* env_;
  std::string root_;
  ReplicaSource source_;
  std::chrono::milliseconds interval_;
  DigestCache cache_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace goldroot

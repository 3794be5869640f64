// Prefetcher: fetches the image a verified pre-fetch order names
// (agent/prefetch_order.h) into the image cache on the data partition —
// the directory goldroot-boot reads at the next boot — by running
// `goldroot-blockd --prefetch` (blockd/main.cc): seeded from the older
// images' caches there, so it costs the blocks that changed, every block
// checked against the signed verity root hash, at nice 19 and idle I/O
// priority. A stopped fetch (the server's window closed, the agent
// restarted, the host rebooted) resumes where the cache's map says.
//
//   fetch=demand hosts: the block cache DIR/<root hash>.image + .map is
//     what goldroot-blockd opens at the next boot: complete, it is read
//     through a loop device and the server is not needed.
//   fetch=full hosts: once complete, the cache's data part is checked
//     against the manifest's sha256 and becomes DIR/<sha256>.erofs, the
//     whole copy goldroot-boot reuses (the tree and map are dropped). Such
//     a disk holds no block cache of the running image, so nothing seeds
//     it: the whole image is fetched, ahead of time.
//
// When the order changes to another image, the previous pre-fetch's cache
// is removed (never the running image's, which an order cannot name), so
// the disk holds at most one image being pre-fetched.
//
// Owns its child process; single-threaded (the agent's loop).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "manifest/boot_manifest.h"
#include "report/report.h"

namespace goldroot::agent {

struct PrefetchConfig {
  std::string blockd_program = "/run/goldroot/agent/bin/goldroot-blockd";
  std::string cache_dir;    // the boot record's; "" when there is no data partition
  std::string status_path;  // goldroot-blockd --status, e.g. /run/goldroot/prefetch.json
  std::string log_path;     // its stderr
  std::string server;       // what the manifest's URLs are relative to
  std::vector<std::string> mirrors;  // the site's other servers (goldroot-blockd --mirror)
  std::string tls_pin_file; // "" for a plain http server
};

class Prefetcher {
 public:
  explicit Prefetcher(PrefetchConfig config) : config_(std::move(config)) {}
  ~Prefetcher();  // stops a fetch under way (it resumes next time)
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // The server's verified order: fetch this image (starts, resumes or
  // keeps going; a complete one is left alone).
  void order(const BootManifest& manifest);
  // The last answer carried no order: a fetch under way stops (paused).
  void pause();
  // The last answer's order did not verify.
  void refuse(const std::string& why);
  // Reaps a finished fetch; what a report says now.
  PrefetchState state();

 private:
  void start();
  void stop();
  void finished(int wait_status);
  // fetch=full: the complete cache becomes DIR/<sha256>.erofs.
  Status make_whole_copy();
  std::string cache_path(const std::string& suffix) const;
  std::string whole_copy_path() const;
  std::string last_log_line() const;
  void read_progress();

  PrefetchConfig config_;
  std::optional<BootManifest> manifest_;
  PrefetchState state_;
  pid_t child_ = -1;
  bool complete_ = false;  // manifest_'s image is complete in the cache
};

}  // namespace goldroot::agent

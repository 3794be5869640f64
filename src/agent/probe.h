// Probe: what the agent reads about the machine it runs on, to fill a
// Report — the boot record goldroot-boot wrote, the overlay upper's changes
// (through the same overlay library as `goldroot changes`), the upper's file
// system usage, uptime, logged-in users (utmp) and the newest input
// activity. Every path is a field so tests point it at a fake machine.
//
// Plain values and functions; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "overlay/lower.h"
#include "report/report.h"

namespace goldroot::agent {

// The fields of /run/goldroot/boot.json the agent uses (boot/boot_record.h
// has the whole format).
struct BootState {
  std::string host, mac, server, mode, commit, manifest_sha256;
  std::vector<std::string> servers;  // the site's other servers, to report to when `server` is down
  std::string lower, middle, upper_kind, upper_path;
  // The image cache on the data partition ("" without one) and the site's
  // public key (goldroot-boot's copy), for pre-fetching the next image.
  std::string cache_dir, site_key;
  // How goldroot-boot obtained a whole copy of the image: "download",
  // "reused" (there already: pre-fetched, or booted before), "seeded"
  // (made from the older copy and the update patch); its size and the
  // bytes it fetched for it.
  std::string image_source;
  uint64_t image_size = 0, image_downloaded = 0;
};

Result<BootState> read_boot_state(const std::string& path);

struct ProbePaths {
  std::string boot_id = "/proc/sys/kernel/random/boot_id";
  std::string uptime = "/proc/uptime";
  std::string utmp = "/var/run/utmp";
  std::string dev = "/dev";  // input/event*, tty[0-9]*, pts/*
  std::string ignore_file = "/etc/goldroot/changes-ignore";  // else built-in list
  // goldroot-blockd's status (blockd/status_file.h), present when the image
  // is served on demand.
  std::string blockd_status = "/run/goldroot/blockd.json";
  bool userxattr = false;  // the overlay was mounted with userxattr
};

// Everything in a Report except host identity fields the caller sets
// (sequence, sent_at, event, results).
Result<Report> probe(const BootState& boot, const ProbePaths& paths);

Result<std::string> read_boot_id(const std::string& path);
// Where the root's image is read from: goldroot-blockd's status file when
// there is one, else "copy" (goldroot-boot downloaded it whole). A status
// file that cannot be read says so in `error`.
RootStorage read_root_storage(const std::string& blockd_status);
// A root read from a whole copy (no goldroot-blockd): what this boot
// fetched for it and what it made from the older copy, from the boot state.
void count_whole_copy(const BootState& boot, RootStorage* root);
Result<int64_t> read_uptime(const std::string& path);
// USER_PROCESS entries of a utmp file.
std::vector<UserSession> read_users(const std::string& utmp);
// The newest atime (Unix seconds) of input event devices and terminals
// below `dev`, or nullopt if none can be read.
std::optional<int64_t> last_input_activity(const std::string& dev);
// What the client's upper is compared with: the host layer (`middle`, when
// the boot state names one that exists) stacked over the image (`lower`),
// as the overlay root stacks them.
Result<std::unique_ptr<Lower>> open_client_lower(const BootState& boot);

// Fills report->changes and report->dirty from lower vs upper.
void summarize_changes(const BootState& boot, const std::string& upper,
                       const ProbePaths& paths, Report* report);

}  // namespace goldroot::agent

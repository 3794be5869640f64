// Resetting a machine's writes: emptying an overlay upper dir and its
// workdir, which is what the "reset" boot mode does before mounting.
//
// Refuses while any overlay mount of this mount namespace uses the dirs
// (found in /proc/self/mountinfo: upperdir, workdir or lowerdir equal to,
// inside, or containing them) — emptying a live upper corrupts the merged
// view. Deleting never follows a symlink and never crosses into another
// filesystem mounted below the dir; the dirs themselves are kept.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "overlay/ignore_list.h"

namespace goldroot {

struct OverlayMountUse {
  std::string mount_point;  // where the overlay is mounted
  std::string option;       // "upperdir", "workdir", "lowerdir"
  std::string path;         // the option's path
};

// The overlay mounts whose dirs overlap `dir`.
Result<std::vector<OverlayMountUse>> overlay_mounts_using(const std::string& dir);

struct ResetStats {
  uint64_t removed = 0;  // objects deleted, in both dirs
};

Result<ResetStats> reset_upper(const std::string& upper_dir,
                               const std::optional<std::string>& work_dir);

// Discards only the writes on the ignore list: every object of the
// (unmounted) upper whose merged path `ignore` matches is removed with all
// below it, so the merged view shows the lower's there again. Returns the
// removed paths ("/var/log"), outermost only. Capturing a maintained host
// uses it, so boot noise — logs, the machine id, DHCP leases — never
// becomes part of the golden image.
Result<std::vector<std::string>> discard_ignored(const std::string& upper_dir,
                                                 const IgnoreList& ignore);

// Parses /proc/self/mountinfo text into (mount point, fstype, super options).
struct MountInfo {
  std::string mount_point;
  std::string fstype;
  std::vector<std::pair<std::string, std::string>> options;  // key, unescaped value
};
std::vector<MountInfo> parse_mountinfo(const std::string& text);

}  // namespace goldroot

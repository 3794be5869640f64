// The overlay's writable upper layer and how the boot mode treats it.
//
//   tmpfs      (default) a fresh tmpfs at RUN/upper: every boot starts clean;
//   directory  an already-mounted persistent directory (--upper-dir; the
//              initramfs glue or a test mounts it);
//   device     a partition found by filesystem label (--upper-device
//              GOLDROOT-DATA, or goldroot.data=LABEL on the kernel command
//              line) through libblkid, mounted ext4 at RUN/data. When no
//              filesystem carries the label, a partition whose GPT name
//              (PARTLABEL) is the label is formatted ext4 with that label —
//              only with FormatPolicy::kAllowed (the host's policy). With
//              `optional`, a machine without such a partition gets tmpfs.
//
// The data partition is mounted first (mount_data), before the image is
// fetched, because it also keeps the downloaded image (so a reboot into
// the same image downloads nothing) and cache mode's offline copy. On
// persistent storage the layer lives in goldroot/upper and goldroot/work.
// Mode `reset` empties both before mounting; `maintenance` needs persistent
// storage and fails on tmpfs rather than lose the admin's work silently.
// PreparedUpper owns its mount (unmounted on destruction unless released).
#pragma once

#include <string>

#include "base/result.h"
#include "boot/kernel_cmdline.h"
#include "boot/scoped_mount.h"

namespace goldroot::boot {

enum class UpperKind { kTmpfs, kDirectory, kDevice };
enum class FormatPolicy { kNever, kAllowed };

const char* upper_kind_name(UpperKind kind);

struct UpperRequest {
  UpperKind kind = UpperKind::kTmpfs;
  std::string directory;  // kDirectory
  std::string label;      // kDevice
  FormatPolicy format = FormatPolicy::kNever;
  bool optional = false;  // kDevice: tmpfs when no partition carries the label
  std::string tmpfs_size = "50%";
};

// The persistent storage under the upper, if any: the directory itself
// (kDirectory) or the partition's mount at RUN/data (kDevice).
struct DataStorage {
  std::string path;    // "" when the upper will be a tmpfs
  std::string device;  // kDevice: /dev/...
  bool formatted = false;
  ScopedMount mount;
};

// Finds the ext4 filesystem labelled `label` — or formats the GPT partition
// named so, when `format` allows — and mounts it read-write at
// `mount_point`. With `optional`, no such partition gives an empty result.
Result<DataStorage> mount_labelled(const std::string& label, FormatPolicy format, bool optional,
                                   const std::string& mount_point);

// Finds (formatting when allowed) and mounts the data partition, or
// returns the directory, or nothing for tmpfs. Fails when a required
// partition is missing.
Result<DataStorage> mount_data(const UpperRequest& request, const std::string& run_dir);

struct PreparedUpper {
  UpperKind kind = UpperKind::kTmpfs;
  std::string device;  // kDevice: /dev/...
  bool formatted = false;
  bool discarded = false;  // reset emptied a persistent upper
  std::string upper;
  std::string work;
  ScopedMount mount;
};

// Fails when `mode` needs persistent storage (maintenance) and `data` has
// none; checked before the image is fetched, so the reason comes at once.
Status check_persistence(const UpperRequest& request, const DataStorage& data, BootMode mode);

// The upper on `data` (taking over its mount), or a fresh tmpfs when
// `data` has no path.
Result<PreparedUpper> prepare_upper(const UpperRequest& request, DataStorage data, BootMode mode,
                                    const std::string& run_dir);

}  // namespace goldroot::boot

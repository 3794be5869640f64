// The overlay's writable upper layer and how the boot mode treats it.
//
//   tmpfs      (default) a fresh tmpfs at RUN/upper: every boot starts clean;
//   directory  an already-mounted persistent directory (--upper-dir; the
//              initramfs glue or a test mounts it);
//   device     a partition found by filesystem label (--upper-device
//              GOLDROOT-DATA) through libblkid, mounted ext4 at RUN/data.
//              When no filesystem carries the label, a partition whose GPT
//              name (PARTLABEL) is the label is formatted ext4 with that
//              label — only with FormatPolicy::kAllowed (the host's policy).
//
// On persistent storage the layer lives in goldroot/upper and goldroot/work.
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
  std::string tmpfs_size = "50%";
};

struct PreparedUpper {
  UpperKind kind = UpperKind::kTmpfs;
  std::string device;  // kDevice: /dev/...
  bool formatted = false;
  bool discarded = false;  // reset emptied a persistent upper
  std::string upper;
  std::string work;
  ScopedMount mount;
};

Result<PreparedUpper> prepare_upper(const UpperRequest& request, BootMode mode,
                                    const std::string& run_dir);

}  // namespace goldroot::boot

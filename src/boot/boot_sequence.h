// The goldroot-boot sequence, from command line to mounted overlay root:
//
//   0. identity  mount the data partition (if any) and load this host's key
//                from it, or make one (host_identity.h);
//   1. manifest  take a challenge, fetch SERVER/api/v1/boot/MAC signed with
//                the host key, verify it against the pinned site key and
//                check it is bound to this MAC, this key and this request,
//                unexpired and above the rollback floor; its mode is the
//                boot's (the command line can only ask a normal host for a
//                reset). Server unreachable: a host whose last manifest
//                said cache boots that copy, verified again;
//   2. image     download to RUN/image/<sha>.erofs (cache mode: into the
//                cache dir, which keeps only the current image), resuming,
//                bounded by the manifest's size, sha256-verified before any
//                mount;
//   3. mount     loop-mount the image read-only at RUN/image;
//   4. layer     fetch SERVER/layers/HOST.tar (signed), check it is the
//                bundle the manifest names, unpack it into a tmpfs at
//                RUN/middle with the host key at etc/goldroot/host.key
//                (0600, for the agent), then remount it read-only;
//   5. upper     see upper_layer.h (tmpfs, directory or device; mode rules);
//   6. root      overlay lowerdir=RUN/middle:RUN/image at ROOT;
//   7. agent     with agent_from, install goldroot-agent (agent_install.h);
//                a failure there is a warning, never a failed boot;
//   8. record    write the BootRecord (boot_record.h) to the state path.
//
// On failure every mount made so far is undone, and `stage` says which step
// failed (main maps it to an exit code). Not thread-safe; one per boot.
#pragma once

#include <string>

#include "base/result.h"
#include "boot/boot_record.h"
#include "boot/image_download.h"
#include "boot/kernel_cmdline.h"
#include "boot/upper_layer.h"

namespace goldroot::boot {

struct BootConfig {
  BootOptions options;
  std::string site_key_path = "/etc/goldroot/site.pub";
  // Where the host key lives; default: the data partition's
  // goldroot/identity/host.key, or a key for this boot only without one.
  std::string host_key_path;
  // The server's TLS pin goes in download.fetch.pinned_public_key (main
  // reads it from tls.pin beside the site key); the agent gets it too.
  std::string root = "/root";
  std::string run_dir = "/run/goldroot";
  std::string cache_dir;   // cache mode; required there
  std::string state_path;  // default RUN/boot.json
  std::string agent_from;  // the goldroot initrd's /usr/lib/goldroot; "" skips the agent
  // The on-demand daemon (fetch=demand), looked up in PATH, and the TLS pin
  // file it is given ("" for none).
  std::string blockd_program = "goldroot-blockd";
  std::string tls_pin_path;
  std::string units_dir = "/run/systemd/system";
  UpperRequest upper;
  DownloadOptions download;
};

enum class BootStage { kConfig, kManifest, kImage, kMount, kLayer, kUpper, kRoot, kRecord, kDone };
const char* boot_stage_name(BootStage stage);

Result<BootRecord> run_boot(const BootConfig& config, BootStage* stage);

}  // namespace goldroot::boot

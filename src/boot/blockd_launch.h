// Starting goldroot-blockd, the daemon that serves the image on demand
// (blockd/), and waiting until its dm-verity device exists.
//
// goldroot-boot runs the daemon as a child with `--ready-fd 3` and reads
// one line from that pipe: "/dev/dm-N" (the verified device, ready to
// mount) or "error: <sentence>" (it could not start: a tree that does not
// match the signed root hash, no NBD device…). The daemon then keeps
// running after goldroot-boot exits, through the switch to the real root.
//
// A retried boot (the glue runs goldroot-boot again after a later step
// failed) must not start a second daemon for the same image: the daemon's
// status file names its pid, root hash and device, and the device of a live
// daemon for the same root hash is reused, as is one already moved onto the
// local copy (its daemon has exited).
//
// Not thread-safe (it forks).
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "manifest/boot_manifest.h"

namespace goldroot::boot {

struct BlockdLaunch {
  std::string program = "goldroot-blockd";  // looked up in PATH
  std::vector<std::string> arguments;       // everything but --ready-fd
  std::string status_path;                  // the daemon's --status
  std::string root_hash;                    // hex, to recognise a running daemon
};

struct StartedBlockd {
  std::string device;  // /dev/dm-N
  bool reused = false;  // a daemon of an earlier attempt serves it
};

Result<StartedBlockd> start_blockd(const BlockdLaunch& launch);

// goldroot-blockd's flags for an image's verity parameters (--root-hash,
// --salt, --data-blocks, --tree-size and the block sizes): what every
// launch (the daemon, --prefetch by goldroot-boot or the agent) passes.
std::vector<std::string> blockd_verity_arguments(const ImageVerity& verity);

}  // namespace goldroot::boot

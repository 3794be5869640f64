// VerityDevice: a read-only dm-verity device over a block device that holds
// an image's data followed by its hash tree (blockd's layout: the tree
// starts at block data_blocks), set up through libdevmapper — the table
//
//   0 SECTORS verity 1 DEV DEV 4096 4096 DATA_BLOCKS DATA_BLOCKS sha256 ROOT SALT
//
// A block whose hash does not lead up to the root hash is an I/O error for
// its reader; nothing unverified is ever returned.
//
// The device outlives this object on purpose: once the root is mounted from
// it, the daemon may exit (after the live move) and the device stays. Only
// remove() takes it away. reload() is the live move: the same table over
// another device (the local copy's loop device), loaded into the inactive
// slot, then suspend (in-flight I/O completes on the old device) and resume
// (the new table takes over); readers never see an error.
//
// No udev: libdevmapper's udev synchronisation is off, and path() is the
// /dev/dm-<minor> node devtmpfs makes. Not thread-safe; libdevmapper keeps
// global state, so use it from one thread.
#pragma once

#include <string>

#include "base/result.h"
#include "verity/hash_tree.h"

namespace goldroot::blockd {

// The verity target's parameter string (everything after "verity") for
// `device` ("major:minor" or a path) holding data then tree.
std::string verity_table_params(const std::string& device, const VerityParams& params);

// "major:minor" of the block device at `path` ("major:minor" itself passes
// through).
Result<std::string> block_device_number(const std::string& path);

class VerityDevice {
 public:
  // Creates dm device `name` over `device` (a path) and activates it.
  static Result<VerityDevice> create(const std::string& name, const std::string& device,
                                     const VerityParams& params);

  const std::string& name() const { return name_; }
  // "/dev/dm-3".
  const std::string& path() const { return path_; }
  // The block device under the table now.
  const std::string& device() const { return device_; }

  // The live move onto `device` (a path or "major:minor"), which must hold
  // the same bytes. Uses libdevmapper's control fd, opened by create(), so
  // it works after the switch to the real root too.
  Status reload(const std::string& device);
  // Removes the dm device (fails with kBusy while it is mounted or open).
  Status remove();

 private:
  VerityDevice(std::string name, std::string path, std::string device, VerityParams params)
      : name_(std::move(name)), path_(std::move(path)), device_(std::move(device)), params_(std::move(params)) {}

  std::string name_;
  std::string path_;
  std::string device_;
  VerityParams params_;
};

}  // namespace goldroot::blockd

// Attaching an image file to a read-only loop device with
// LOOP_CTL_GET_FREE + LOOP_CONFIGURE (Linux 5.8+), the way goldroot-boot
// mounts the erofs image and goldroot-blockd moves its dm-verity device onto
// the local copy, without losetup.
//
// The device is configured with LO_FLAGS_AUTOCLEAR: once it is mounted (or
// under a device-mapper table: goldroot-blockd's live move) and the
// LoopDevice is gone, the kernel detaches it when the last holder goes
// away. If the LoopDevice is destroyed before a mount holds it, it is
// detached explicitly.
//
// attach_read_only_fd works without paths: the backing file is an open fd
// and the loop nodes are found under an open /dev directory fd. A root
// storage daemon needs that after the switch to the real root, where its
// old root has no /dev and the cache's path no longer resolves.
// Move-only; not thread-safe (LOOP_CTL_GET_FREE can
// race with another attacher, which is retried).
#pragma once

#include <string>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace goldroot {

class LoopDevice {
 public:
  static Result<LoopDevice> attach_read_only(const std::string& file);
  // `backing` is the open file (any access mode), `dev` an fd of /dev,
  // `name` what messages call the file.
  static Result<LoopDevice> attach_read_only_fd(int dev, int backing, const std::string& name);
  LoopDevice(LoopDevice&&) noexcept = default;
  LoopDevice& operator=(LoopDevice&&) noexcept = default;
  ~LoopDevice();

  const std::string& path() const { return path_; }
  // "7:3", the device's major:minor (for a device-mapper table).
  const std::string& number() const { return number_; }
  // Call once the device is mounted (or held by a dm table): autoclear now
  // owns its lifetime.
  void release_to_mount() { device_.reset(); mounted_ = true; }

 private:
  LoopDevice(std::string path, std::string number, UniqueFd device)
      : path_(std::move(path)), number_(std::move(number)), device_(std::move(device)) {}
  std::string path_;
  std::string number_;
  UniqueFd device_;
  bool mounted_ = false;
};

}  // namespace goldroot

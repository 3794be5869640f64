#include "boot/scoped_mount.h"

#include <sys/mount.h>

#include <cerrno>
#include <utility>

namespace goldroot::boot {

Result<ScopedMount> ScopedMount::mount(const std::string& source, const std::string& target,
                                       const std::string& type, unsigned long flags,
                                       const std::string& data) {
  if (::mount(source.c_str(), target.c_str(), type.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0)
    return errno_error("mount " + type + " " + source + " on " + target, errno);
  return ScopedMount(target);
}

ScopedMount::ScopedMount(ScopedMount&& other) noexcept : target_(std::exchange(other.target_, {})) {}

ScopedMount& ScopedMount::operator=(ScopedMount&& other) noexcept {
  if (this != &other) {
    if (!target_.empty()) ::umount2(target_.c_str(), MNT_DETACH);
    target_ = std::exchange(other.target_, {});
  }
  return *this;
}

ScopedMount::~ScopedMount() {
  if (!target_.empty()) ::umount2(target_.c_str(), MNT_DETACH);
}

}  // namespace goldroot::boot

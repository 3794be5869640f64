#include "sys/loop_device.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

namespace goldroot {

Result<LoopDevice> LoopDevice::attach_read_only(const std::string& file) {
  UniqueFd backing(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!backing.valid()) return errno_error("open " + file, errno);
  UniqueFd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!control.valid()) return errno_error("open /dev/loop-control", errno);
  for (int attempt = 0; attempt < 16; ++attempt) {
    int number = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (number < 0) return errno_error("LOOP_CTL_GET_FREE", errno);
    std::string path = "/dev/loop" + std::to_string(number);
    UniqueFd device(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!device.valid()) return errno_error("open " + path, errno);
    loop_config config;
    std::memset(&config, 0, sizeof(config));
    config.fd = static_cast<uint32_t>(backing.get());
    config.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO;
    std::strncpy(reinterpret_cast<char*>(config.info.lo_file_name), file.c_str(), LO_NAME_SIZE - 1);
    if (::ioctl(device.get(), LOOP_CONFIGURE, &config) == 0) return LoopDevice(path, std::move(device));
    if (errno == EINVAL) {  // direct I/O unsupported by the backing filesystem (tmpfs)
      config.info.lo_flags &= ~LO_FLAGS_DIRECT_IO;
      if (::ioctl(device.get(), LOOP_CONFIGURE, &config) == 0) return LoopDevice(path, std::move(device));
    }
    if (errno != EBUSY) return errno_error("LOOP_CONFIGURE " + path + " with " + file, errno);
  }
  return make_error(ErrorCode::kBusy, "no free loop device for " + file);
}

LoopDevice::~LoopDevice() {
  if (device_.valid() && !mounted_) ::ioctl(device_.get(), LOOP_CLR_FD, 0);
}

}  // namespace goldroot

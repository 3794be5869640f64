#include "sys/loop_device.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <cstring>

namespace goldroot {

Result<LoopDevice> LoopDevice::attach_read_only(const std::string& file) {
  UniqueFd backing(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!backing.valid()) return errno_error("open " + file, errno);
  UniqueFd dev(::open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dev.valid()) return errno_error("open /dev", errno);
  return attach_read_only_fd(dev.get(), backing.get(), file);
}

Result<LoopDevice> LoopDevice::attach_read_only_fd(int dev, int backing, const std::string& name) {
  UniqueFd control(::openat(dev, "loop-control", O_RDWR | O_CLOEXEC));
  if (!control.valid()) return errno_error("open /dev/loop-control", errno);
  for (int attempt = 0; attempt < 16; ++attempt) {
    int number = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (number < 0) return errno_error("LOOP_CTL_GET_FREE", errno);
    std::string node = "loop" + std::to_string(number), path = "/dev/" + node;
    UniqueFd device(::openat(dev, node.c_str(), O_RDONLY | O_CLOEXEC));
    if (!device.valid()) return errno_error("open " + path, errno);
    struct stat st;
    if (::fstat(device.get(), &st) != 0) return errno_error("stat " + path, errno);
    std::string device_number = std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
    loop_config config;
    std::memset(&config, 0, sizeof(config));
    config.fd = static_cast<uint32_t>(backing);
    config.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO;
    std::strncpy(reinterpret_cast<char*>(config.info.lo_file_name), name.c_str(), LO_NAME_SIZE - 1);
    if (::ioctl(device.get(), LOOP_CONFIGURE, &config) == 0)
      return LoopDevice(path, device_number, std::move(device));
    if (errno == EINVAL) {  // direct I/O unsupported by the backing filesystem (tmpfs)
      config.info.lo_flags &= ~LO_FLAGS_DIRECT_IO;
      if (::ioctl(device.get(), LOOP_CONFIGURE, &config) == 0)
        return LoopDevice(path, device_number, std::move(device));
    }
    if (errno != EBUSY) return errno_error("LOOP_CONFIGURE " + path + " with " + name, errno);
  }
  return make_error(ErrorCode::kBusy, "no free loop device for " + name);
}

LoopDevice::~LoopDevice() {
  if (device_.valid() && !mounted_) ::ioctl(device_.get(), LOOP_CLR_FD, 0);
}

}  // namespace goldroot

#include "sys/open_beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace goldroot {

Result<UniqueFd> open_beneath(int dir_fd, const std::string& path, int flags,
                              const std::string& display) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const char* name = path.empty() ? "." : path.c_str();
  for (;;) {
    long fd = ::syscall(SYS_openat2, dir_fd, name, &how, sizeof how);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno == EINTR || errno == EAGAIN) continue;
    if (errno == ELOOP || errno == ENOTDIR || errno == ENOENT || errno == EXDEV)
      return make_error(ErrorCode::kNotFound, display + " does not exist");
    return errno_error("opening " + display, errno);
  }
}

}  // namespace goldroot

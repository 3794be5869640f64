#include "sys/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "base/strings.h"

namespace goldroot {

Result<FileLock> FileLock::acquire(const std::string& path, LockMode mode,
                                   const std::string& command) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("opening lock " + path, errno);
  int operation = (mode == LockMode::kExclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
  if (::flock(fd.get(), operation) != 0) {
    if (errno != EWOULDBLOCK) return errno_error("locking " + path, errno);
    char buffer[256] = {};
    ssize_t n = ::pread(fd.get(), buffer, sizeof buffer - 1, 0);
    std::string holder = n > 0 ? std::string(trim(std::string_view(buffer, n))) : "";
    return make_error(ErrorCode::kBusy,
                      "another goldroot command is using this site" +
                          (holder.empty() ? std::string() : " (" + holder + ")") +
                          "; try again when it has finished");
  }
  if (mode == LockMode::kExclusive) {
    std::string owner = "pid " + std::to_string(::getpid()) + ": " + command + "\n";
    if (::ftruncate(fd.get(), 0) == 0)
      (void)!::pwrite(fd.get(), owner.data(), owner.size(), 0);
  }
  return FileLock(std::move(fd));
}

}  // namespace goldroot

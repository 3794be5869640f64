#include "sys/file_lock.h"

#include <fcntl.h>
#include <signal.h>
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
    // Only exclusive holders write their name, and it stays after them: a
    // name whose process is gone is not who blocks us now (a reader is).
    uint64_t pid = 0;
    if (starts_with(holder, "pid ") &&
        (!parse_uint64(holder.substr(4, holder.find(':') - 4), &pid) ||
         (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)))
      holder.clear();
    return make_error(ErrorCode::kBusy,
                      "another goldroot command is using this site" +
                          (holder.empty() ? std::string() : " (" + holder + ")") +
                          "; try again when it has finished");
  }
  bool exclusive = mode == LockMode::kExclusive;
  if (exclusive) {
    std::string owner = "pid " + std::to_string(::getpid()) + ": " + command + "\n";
    if (::ftruncate(fd.get(), 0) == 0)
      (void)!::pwrite(fd.get(), owner.data(), owner.size(), 0);
  }
  return FileLock(std::move(fd), exclusive);
}

void FileLock::release() {
  if (fd_.valid() && exclusive_) (void)!::ftruncate(fd_.get(), 0);  // still ours: lock held
  fd_.reset();
  exclusive_ = false;
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::move(other.fd_);
    exclusive_ = std::exchange(other.exclusive_, false);
  }
  return *this;
}

FileLock::~FileLock() { release(); }

}  // namespace goldroot

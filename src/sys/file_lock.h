// FileLock is an flock(2) on SITE/lock, held for the life of the object, so
// that two goldroot commands never change one site at once. The holder writes
// its pid and command into the lock file, so a refused command can say who
// holds it. Move-only; released on destruction or when the process dies.
#pragma once

#include <string>
#include <utility>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace goldroot {

enum class LockMode { kShared, kExclusive };

class FileLock {
 public:
  // Fails at once with kBusy, naming the holder, if the lock is taken.
  static Result<FileLock> acquire(const std::string& path, LockMode mode,
                                  const std::string& command);
  // No lock at all, for long-running readers such as the boot server, which
  // rely on the store's atomic replacements instead.
  static FileLock none() { return FileLock(UniqueFd()); }
  FileLock(FileLock&& other) noexcept
      : fd_(std::move(other.fd_)), exclusive_(std::exchange(other.exclusive_, false)) {}
  FileLock& operator=(FileLock&& other) noexcept;
  // An exclusive holder clears its name from the lock file as it lets go,
  // so a later refusal never names a command that has finished.
  ~FileLock();

 private:
  explicit FileLock(UniqueFd fd, bool exclusive = false)
      : fd_(std::move(fd)), exclusive_(exclusive) {}
  void release();

  UniqueFd fd_;
  bool exclusive_ = false;
};

}  // namespace goldroot

#include "crypto/key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "sys/unique_fd.h"

namespace goldroot {

Result<std::string> read_small_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("opening " + path, errno);
  std::string contents;
  char buffer[4096];
  while (true) {
    ssize_t count = ::read(fd.get(), buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return errno_error("reading " + path, errno);
    if (count == 0) return contents;
    contents.append(buffer, static_cast<size_t>(count));
  }
}

Status write_new_file(const std::string& path, const std::string& contents, mode_t mode) {
  std::string temporary = path + ".tmp." + std::to_string(::getpid());
  ::unlink(temporary.c_str());
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) return errno_error("creating " + temporary, errno);
  ::fchmod(fd.get(), mode);  // the umask must not widen or narrow it
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t count = ::write(fd.get(), contents.data() + written, contents.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) {
      int saved = errno;
      ::unlink(temporary.c_str());
      return errno_error("writing " + temporary, saved);
    }
    written += static_cast<size_t>(count);
  }
  if (::fsync(fd.get()) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    return errno_error("syncing " + temporary, saved);
  }
  int linked = ::link(temporary.c_str(), path.c_str());
  int saved = errno;
  ::unlink(temporary.c_str());
  if (linked != 0) {
    if (saved == EEXIST) return make_error(ErrorCode::kAlreadyExists, path + " exists");
    return errno_error("installing " + path, saved);
  }
  size_t slash = path.find_last_of('/');
  UniqueFd directory(::open(slash == std::string::npos ? "." : path.substr(0, slash).c_str(),
                            O_RDONLY | O_CLOEXEC));
  if (directory.valid() && ::fsync(directory.get()) != 0)
    return errno_error("syncing directory of " + path, errno);
  return {};
}

}  // namespace goldroot

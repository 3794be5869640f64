#include "sys/directory.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace goldroot {

Result<std::vector<std::string>> read_directory(int dir_fd, const std::string& display) {
  // getdents64 on the fd itself: opendir would cost a dup, two fcntls and a
  // close more per directory, which tree walks of thousands of directories
  // (changes, import) feel.
  if (::lseek(dir_fd, 0, SEEK_SET) < 0) return errno_error("listing " + display, errno);
  alignas(struct dirent64) char buffer[32768];
  std::vector<std::string> names;
  for (;;) {
    ssize_t n = ::getdents64(dir_fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("listing " + display, errno);
    }
    if (n == 0) break;
    for (ssize_t offset = 0; offset < n;) {
      const auto* entry = reinterpret_cast<const struct dirent64*>(buffer + offset);
      offset += entry->d_reclen;
      const char* name = entry->d_name;
      if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0) names.emplace_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace goldroot

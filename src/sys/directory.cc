#include "sys/directory.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace goldroot {

Result<std::vector<std::string>> read_directory(int dir_fd, const std::string& display) {
  int copy = ::dup(dir_fd);
  if (copy < 0) return errno_error("listing " + display, errno);
  DIR* dir = ::fdopendir(copy);
  if (!dir) {
    int saved = errno;
    ::close(copy);
    return errno_error("listing " + display, saved);
  }
  ::rewinddir(dir);  // the duplicate shares its offset with dir_fd
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* entry = ::readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0)
      names.emplace_back(entry->d_name);
  }
  int saved = errno;
  ::closedir(dir);
  if (saved) return errno_error("listing " + display, saved);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace goldroot

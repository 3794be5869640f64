#include "sys/file_io.h"

#include <unistd.h>

#include <cerrno>

namespace goldroot {

Status pread_exact(int fd, void* out, size_t length, uint64_t offset, const std::string& what) {
  char* bytes = static_cast<char*>(out);
  const uint64_t end = offset + length;
  while (length > 0) {
    ssize_t got = ::pread(fd, bytes, length, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return errno_error("reading " + what, errno);
    if (got == 0)
      return make_error(ErrorCode::kCorruption,
                        what + " ends before byte " + std::to_string(end) + " (it is cut short)");
    bytes += got;
    length -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return {};
}

}  // namespace goldroot

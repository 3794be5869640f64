#include "blockd/file_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace goldroot::blockd {

Result<FileBlockSource> FileBlockSource::open(const std::vector<std::string>& paths) {
  FileBlockSource source;
  for (const std::string& path : paths) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return errno_error("open " + path, errno);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + path, errno);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size % 4096 != 0)
      return make_error(ErrorCode::kInvalidArgument,
                        path + " is " + std::to_string(size) + " bytes, not a multiple of 4096");
    source.parts_.push_back(Part{path, std::move(fd), source.size_, size});
    source.size_ += size;
  }
  return source;
}

Status FileBlockSource::read(uint64_t offset, uint32_t length, char* out) {
  if (offset > size_ || length > size_ - offset)
    return make_error(ErrorCode::kInvalidArgument, "read past the end of the device");
  for (const Part& part : parts_) {
    if (length == 0) break;
    if (offset >= part.start + part.size) continue;
    uint64_t within = offset - part.start;
    uint64_t count = std::min<uint64_t>(length, part.size - within);
    uint64_t done = 0;
    while (done < count) {
      ssize_t got = ::pread(part.fd.get(), out + done, count - done, static_cast<off_t>(within + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return errno_error("read " + part.path, errno);
      if (got == 0) return make_error(ErrorCode::kIo, part.path + " shrank while being served");
      done += static_cast<uint64_t>(got);
    }
    offset += count;
    out += count;
    length -= static_cast<uint32_t>(count);
  }
  return ok_status();
}

}  // namespace goldroot::blockd

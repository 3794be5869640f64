#include "image/fs_entry.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <vector>

namespace goldroot {

namespace {

// listxattrat(2) and getxattrat(2) (Linux 6.13) read xattrs relative to a
// directory fd. Without them every call resolves /proc/self/fd/N/NAME, a
// procfs walk that costs more than the xattr read; the tree walks of import,
// changes and capture make a few thousand of them. glibc 2.36 has no
// wrappers, hence syscall(2); older kernels answer ENOSYS and we fall back
// (so does a seccomp filter that answers EPERM, without giving up on them).
constexpr long kGetxattrat = 464;   // the same number on every architecture
constexpr long kListxattrat = 465;  // of the unified table (all but alpha)
std::atomic<bool> xattrat_missing{false};

struct XattrArgs {  // struct xattr_args of <linux/xattr.h>
  uint64_t value;
  uint32_t size;
  uint32_t flags;
};

ssize_t list_xattrs_at(int dir_fd, const std::string& name, const std::string& path, char* list,
                       size_t size) {
  if (!xattrat_missing.load(std::memory_order_relaxed)) {
    long n = ::syscall(kListxattrat, dir_fd, name.c_str(), AT_SYMLINK_NOFOLLOW, list, size);
    if (n >= 0 || (errno != ENOSYS && errno != EPERM)) return n;
    if (errno == ENOSYS) xattrat_missing = true;
  }
  return ::llistxattr(path.c_str(), list, size);
}

ssize_t get_xattr_at(int dir_fd, const std::string& name, const std::string& path,
                     const std::string& key, char* value, size_t size) {
  if (!xattrat_missing.load(std::memory_order_relaxed)) {
    XattrArgs args{reinterpret_cast<uintptr_t>(value), static_cast<uint32_t>(size), 0};
    long n = ::syscall(kGetxattrat, dir_fd, name.c_str(), AT_SYMLINK_NOFOLLOW, key.c_str(), &args,
                       sizeof args);
    if (n >= 0 || (errno != ENOSYS && errno != EPERM)) return n;
    if (errno == ENOSYS) xattrat_missing = true;
  }
  return ::lgetxattr(path.c_str(), key.c_str(), value, size);
}

}  // namespace

std::string fd_path(int dir_fd, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
}

Result<Xattrs> read_xattrs(int dir_fd, const std::string& name, const std::string& display) {
  std::string path = fd_path(dir_fd, name);
  Xattrs xattrs;
  std::vector<char> names(1024);
  for (;;) {
    ssize_t n = list_xattrs_at(dir_fd, name, path, names.data(), names.size());
    if (n >= 0) {
      names.resize(static_cast<size_t>(n));
      break;
    }
    if (errno == ENOTSUP) return xattrs;
    if (errno != ERANGE) return errno_error("listing xattrs of " + display, errno);
    names.resize(names.size() * 4);
  }
  for (size_t start = 0; start < names.size();) {
    std::string key(names.data() + start);
    start += key.size() + 1;
    if (key.empty()) continue;
    std::string value(256, '\0');
    for (;;) {
      ssize_t n = get_xattr_at(dir_fd, name, path, key, value.data(), value.size());
      if (n >= 0) {
        value.resize(static_cast<size_t>(n));
        break;
      }
      if (errno == ENODATA) break;
      if (errno != ERANGE) return errno_error("reading xattr " + key + " of " + display, errno);
      value.resize(value.size() * 4);
    }
    xattrs.emplace_back(std::move(key), std::move(value));
  }
  std::sort(xattrs.begin(), xattrs.end());
  return xattrs;
}

Result<Entry> read_entry(int dir_fd, const std::string& name, const struct stat& st,
                         const std::string& display) {
  Entry entry;
  entry.name = name;
  entry.type = file_type_from_mode(st.st_mode);
  entry.mode = st.st_mode & 07777;
  entry.uid = st.st_uid;
  entry.gid = st.st_gid;
  entry.mtime_sec = st.st_mtim.tv_sec;
  entry.mtime_nsec = static_cast<uint32_t>(st.st_mtim.tv_nsec);
  if (entry.type == FileType::kRegular) entry.size = static_cast<uint64_t>(st.st_size);
  if (entry.type == FileType::kCharDevice || entry.type == FileType::kBlockDevice)
    entry.rdev = st.st_rdev;
  if (entry.type == FileType::kSymlink) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    for (;;) {
      ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
      if (n < 0) return errno_error("reading symlink " + display, errno);
      if (static_cast<size_t>(n) < target.size()) {
        target.resize(static_cast<size_t>(n));
        break;
      }
      target.resize(target.size() * 2);
    }
    entry.target = std::move(target);
  }
  entry.xattrs = TRY(read_xattrs(dir_fd, name, display));
  return entry;
}

Status apply_metadata(int dir_fd, const std::string& name, const Entry& entry,
                      const std::string& display) {
  if (::fchownat(dir_fd, name.c_str(), entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) != 0)
    return errno_error("setting the owner of " + display, errno);
  if (entry.type != FileType::kSymlink &&
      ::fchmodat(dir_fd, name.c_str(), entry.mode, 0) != 0)
    return errno_error("setting the mode of " + display, errno);
  if (!entry.xattrs.empty()) {
    std::string path = fd_path(dir_fd, name);
    for (const auto& [key, value] : entry.xattrs) {
      if (::lsetxattr(path.c_str(), key.c_str(), value.data(), value.size(), 0) != 0)
        return errno_error("setting xattr " + key + " on " + display, errno);
    }
  }
  struct timespec times[2];
  times[0].tv_sec = entry.mtime_sec;
  times[0].tv_nsec = entry.mtime_nsec;
  times[1] = times[0];
  if (::utimensat(dir_fd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    return errno_error("setting the mtime of " + display, errno);
  return {};
}

Status create_special(int dir_fd, const std::string& name, const Entry& entry,
                      const std::string& display) {
  int result = 0;
  switch (entry.type) {
    case FileType::kSymlink:
      result = ::symlinkat(entry.target.c_str(), dir_fd, name.c_str());
      break;
    case FileType::kCharDevice:
    case FileType::kBlockDevice:
    case FileType::kFifo:
    case FileType::kSocket:
      result = ::mknodat(dir_fd, name.c_str(), mode_type_bits(entry.type) | (entry.mode & 0777),
                         static_cast<dev_t>(entry.rdev));
      break;
    default:
      return make_error(ErrorCode::kInvalidArgument, display + " is not a special file");
  }
  if (result != 0) return errno_error("creating " + display, errno);
  return {};
}

}  // namespace goldroot

#include "boot/tree_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "sys/unique_fd.h"

namespace goldroot::boot {
namespace {

class TreeCopier {
 public:
  Result<CopyStats> run(const std::string& source, const std::string& target) {
    struct stat st;
    if (::lstat(source.c_str(), &st) != 0) return errno_error("stat " + source, errno);
    device_ = st.st_dev;
    TRY(copy_directory(source, target));
    TRY(copy_metadata(source, target, st));
    return stats_;
  }

 private:
  Status copy_directory(const std::string& from, const std::string& to) {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(from.c_str()), ::closedir);
    if (!dir) return errno_error("reading " + from, errno);
    std::vector<std::string> names;
    while (struct dirent* entry = ::readdir(dir.get())) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    dir.reset();
    for (const std::string& name : names) TRY(copy_entry(from + "/" + name, to + "/" + name));
    return ok_status();
  }

  Status copy_entry(const std::string& from, const std::string& to) {
    struct stat st;
    if (::lstat(from.c_str(), &st) != 0) return errno_error("stat " + from, errno);
    ++stats_.entries;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, first] = links_.emplace(std::make_pair(st.st_dev, st.st_ino), to);
      if (!first) {
        if (::link(it->second.c_str(), to.c_str()) != 0) return errno_error("link " + to, errno);
        return ok_status();
      }
    }
    if (S_ISDIR(st.st_mode)) {
      if (::mkdir(to.c_str(), 0700) != 0) return errno_error("mkdir " + to, errno);
      if (st.st_dev == device_) TRY(copy_directory(from, to));  // mount points stay empty
    } else if (S_ISREG(st.st_mode)) {
      TRY(copy_file(from, to, st));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlink(from.c_str(), target.data(), target.size());
      if (n < 0) return errno_error("readlink " + from, errno);
      target.resize(static_cast<size_t>(n));
      if (::symlink(target.c_str(), to.c_str()) != 0) return errno_error("symlink " + to, errno);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
      if (::mknod(to.c_str(), st.st_mode, st.st_rdev) != 0) return errno_error("mknod " + to, errno);
    } else {
      --stats_.entries;  // sockets belong to running programs
      return ok_status();
    }
    return copy_metadata(from, to, st);
  }

  Status copy_file(const std::string& from, const std::string& to, const struct stat& st) {
    UniqueFd in(::open(from.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in.valid()) return errno_error("open " + from, errno);
    UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out.valid()) return errno_error("create " + to, errno);
    uint64_t left = static_cast<uint64_t>(st.st_size);
    while (left > 0) {
      ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, left, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
        char buffer[1 << 16];
        n = ::read(in.get(), buffer, sizeof buffer);
        if (n > 0 && ::write(out.get(), buffer, static_cast<size_t>(n)) != n)
          return errno_error("write " + to, errno);
      }
      if (n < 0) return errno_error("copy " + from, errno);
      if (n == 0) break;  // shrank meanwhile
      left -= static_cast<uint64_t>(n);
      stats_.bytes += static_cast<uint64_t>(n);
    }
    return ok_status();
  }

  Status copy_metadata(const std::string& from, const std::string& to, const struct stat& st) {
    if (::lchown(to.c_str(), st.st_uid, st.st_gid) != 0) return errno_error("chown " + to, errno);
    std::vector<char> names(65536);
    ssize_t length = ::llistxattr(from.c_str(), names.data(), names.size());
    for (ssize_t at = 0; length > 0 && at < length; at += std::string(names.data() + at).size() + 1) {
      std::string name(names.data() + at);
      if (name.rfind("trusted.overlay.", 0) == 0) continue;
      std::vector<char> value(65536);
      ssize_t size = ::lgetxattr(from.c_str(), name.c_str(), value.data(), value.size());
      if (size < 0) continue;
      if (::lsetxattr(to.c_str(), name.c_str(), value.data(), static_cast<size_t>(size), 0) != 0 &&
          errno != ENOTSUP)
        return errno_error("setting " + name + " on " + to, errno);
    }
    // After chown, which clears set-id bits; never through a symlink.
    if (!S_ISLNK(st.st_mode) && ::chmod(to.c_str(), st.st_mode & 07777) != 0)
      return errno_error("chmod " + to, errno);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(AT_FDCWD, to.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error("setting times on " + to, errno);
    return ok_status();
  }

  dev_t device_ = 0;
  CopyStats stats_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

}  // namespace

Result<CopyStats> copy_tree(const std::string& source, const std::string& target) {
  return TreeCopier().run(source, target);
}

}  // namespace goldroot::boot

// Writes a RenderedLayer as a plain directory tree (layer_writers.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "layer/layer_writers.h"
#include "sys/unique_fd.h"

namespace goldroot {

namespace {

Error write_error(const std::string& what, const std::string& path, int saved_errno) {
  if (saved_errno == EPERM && ::geteuid() != 0)
    return make_error(ErrorCode::kPermissionDenied,
                      what + " " + path +
                          " needs root (owners and whiteouts are kept); render as root or to a "
                          ".tar");
  return errno_error(what + " " + path, saved_errno);
}

// Layer files are mostly small configuration files. For those one read and
// one write beat copy_file_range, whose splice path makes ext4 zero whole
// (large) page-cache folios before filling them: it was the biggest single
// cost of rendering a directory. Big files still go through the kernel.
constexpr off_t kSmallFile = 1 << 16;

Status copy_file(const std::string& source, off_t size, int to_fd, const std::string& path) {
  UniqueFd from(::open(source.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!from.valid()) return errno_error("reading " + source, errno);
  off_t done = 0;
  while (size > kSmallFile) {
    // Stopping at the merged size saves the call that would return 0.
    ssize_t copied = ::copy_file_range(from.get(), nullptr, to_fd, nullptr, 1 << 30, 0);
    if (copied > 0) {
      done += copied;
      if (done == size) return {};
      continue;
    }
    if (copied == 0) return {};
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL)
      return errno_error("copying " + source + " to " + path, errno);
    break;
  }
  char buffer[kSmallFile];
  for (;;) {
    ssize_t n = ::read(from.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("reading " + source, errno);
    }
    if (n == 0) return {};
    for (ssize_t written_here = 0; written_here < n;) {
      ssize_t written =
          ::write(to_fd, buffer + written_here, static_cast<size_t>(n - written_here));
      if (written < 0) {
        if (errno == EINTR) continue;
        return errno_error("writing " + path, errno);
      }
      written_here += written;
    }
    done += n;
    if (done == size) return {};  // as above: no read that would return 0
  }
}

Status write_contents(int fd, const std::string& data, const std::string& path) {
  for (size_t done = 0; done < data.size();) {
    ssize_t written = ::write(fd, data.data() + done, data.size() - done);
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno_error("writing " + path, errno);
    }
    done += static_cast<size_t>(written);
  }
  return {};
}

// The umask, read without changing it (umask(2) would race with other
// threads); if it cannot be read, assume the worst so every mode is set.
mode_t current_umask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Umask:", 0) == 0)
      return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
  return 0777;
}

// What a file this process creates gets without being told: read once per
// render rather than once per file.
struct Creator {
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  mode_t umask = current_umask();
};

// Files are created with their final permission bits where the umask allows
// (see write_layer_directory), so most need neither chown nor chmod.
Status set_file_metadata(int fd, const struct stat& st, const std::string& path,
                         const Creator& creator) {
  if ((st.st_uid != creator.uid || st.st_gid != creator.gid) &&
      ::fchown(fd, st.st_uid, st.st_gid) != 0)
    return write_error("setting the owner of", path, errno);
  // chown clears setuid/setgid, and the umask may have dropped bits.
  if (((st.st_mode & 07000) || (st.st_mode & creator.umask & 0777)) &&
      ::fchmod(fd, st.st_mode & 07777) != 0)
    return write_error("setting the mode of", path, errno);
  struct timespec times[2] = {st.st_mtim, st.st_mtim};
  if (::futimens(fd, times) != 0) return errno_error("setting the mtime of " + path, errno);
  return {};
}

// Metadata of a symlink, special file or directory, set through its parent.
Status set_entry_metadata(int parent_fd, const std::string& name, const std::string& path,
                          const MergedNode& node) {
  const struct stat& st = node.st;
  if (::fchownat(parent_fd, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
    return write_error("setting the owner of", path, errno);
  if (node.kind != NodeKind::kSymlink &&
      ::fchmodat(parent_fd, name.c_str(), st.st_mode & 07777, 0) != 0)
    return write_error("setting the mode of", path, errno);
  if (node.opaque && ::lsetxattr(path.c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0)
    return write_error("marking opaque", path, errno);
  struct timespec times[2] = {st.st_mtim, st.st_mtim};
  if (::utimensat(parent_fd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    return errno_error("setting the mtime of " + path, errno);
  return {};
}

}  // namespace

// Every entry is created relative to its parent directory's fd (kept open
// until the end), so the kernel resolves one name per call rather than the
// whole path: a render is a few hundred creates, and path walks were a good
// part of its system time.
Status write_layer_directory(const RenderedLayer& layer, const std::string& root,
                             SourceCache* sources) {
  Creator creator;
  if (::mkdir(root.c_str(), 0755) != 0) return errno_error("creating " + root, errno);
  struct Directory {
    const std::string* relative;
    const MergedNode* node;
    UniqueFd fd;
    size_t parent;  // index into directories; kRoot for the root
  };
  constexpr size_t kRoot = static_cast<size_t>(-1);
  UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) return errno_error("opening " + root, errno);
  std::vector<Directory> directories;
  std::unordered_map<std::string_view, size_t> directory_index;
  for (const auto& [relative, node] : layer.merged.nodes) {
    size_t slash = relative.rfind('/');
    size_t parent = kRoot;
    std::string name = relative;
    if (slash != std::string::npos) {
      // The map is sorted, so a parent directory always came first.
      auto found = directory_index.find(std::string_view(relative).substr(0, slash));
      if (found == directory_index.end())
        return make_error(ErrorCode::kInvalidArgument,
                          "rendering " + relative + ": its parent is not a directory");
      parent = found->second;
      name = relative.substr(slash + 1);
    }
    int parent_fd = parent == kRoot ? root_fd.get() : directories[parent].fd.get();
    std::string path = root + "/" + relative;
    switch (node.kind) {
      case NodeKind::kDirectory: {
        if (::mkdirat(parent_fd, name.c_str(), 0700) != 0)
          return errno_error("creating " + path, errno);
        UniqueFd fd(
            ::openat(parent_fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd.valid()) return errno_error("opening " + path, errno);
        directory_index.emplace(relative, directories.size());
        directories.push_back({&relative, &node, std::move(fd), parent});
        break;
      }
      case NodeKind::kFile:
      case NodeKind::kTemplate: {
        UniqueFd fd(::openat(parent_fd, name.c_str(),
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                             node.st.st_mode & 0777));
        if (!fd.valid()) return errno_error("creating " + path, errno);
        if (node.kind == NodeKind::kFile && sources && node.st.st_size <= SourceCache::kLargest)
          TRY(write_contents(fd.get(), *TRY(sources->contents(node)), path));
        else if (node.kind == NodeKind::kFile)
          TRY(copy_file(node.source, node.st.st_size, fd.get(), path));
        else
          TRY(write_contents(fd.get(), layer.contents.at(relative), path));
        TRY(set_file_metadata(fd.get(), node.st, path, creator));
        break;
      }
      case NodeKind::kSymlink:
        if (::symlinkat(node.link_target.c_str(), parent_fd, name.c_str()) != 0)
          return errno_error("creating symlink " + path, errno);
        TRY(set_entry_metadata(parent_fd, name, path, node));
        break;
      case NodeKind::kWhiteout:
        if (::mknodat(parent_fd, name.c_str(), S_IFCHR | 0000, makedev(0, 0)) != 0)
          return write_error("creating the whiteout", path, errno);
        break;
      case NodeKind::kSpecial:
        if (::mknodat(parent_fd, name.c_str(), node.st.st_mode, node.st.st_rdev) != 0)
          return write_error("creating", path, errno);
        TRY(set_entry_metadata(parent_fd, name, path, node));
        break;
    }
  }
  // Directory metadata last, deepest first: a read-only directory must be
  // filled before its mode is set, and its mtime after its children.
  for (auto it = directories.rbegin(); it != directories.rend(); ++it) {
    const std::string& relative = *it->relative;
    size_t slash = relative.rfind('/');
    int parent_fd = it->parent == kRoot ? root_fd.get() : directories[it->parent].fd.get();
    TRY(set_entry_metadata(parent_fd,
                           slash == std::string::npos ? relative : relative.substr(slash + 1),
                           root + "/" + relative, *it->node));
  }
  return {};
}

}  // namespace goldroot

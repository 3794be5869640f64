#include "overlay/reset.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/strings.h"
#include "image/fs_entry.h"
#include "sys/directory.h"
#include "sys/unique_fd.h"

namespace goldroot {

namespace {

// mountinfo escapes space, tab, newline, backslash and (in options) comma
// as \ooo.
std::string unescape_octal(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() &&
        text[i + 1] >= '0' && text[i + 1] <= '3' && text[i + 2] >= '0' && text[i + 2] <= '7' &&
        text[i + 3] >= '0' && text[i + 3] <= '7') {
      out += static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 + (text[i + 3] - '0'));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string canonical(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved)) return resolved;
  return path;
}

bool inside_or_equal(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

// Lower dirs are ':'-separated; a literal ':' is written "\:".
std::vector<std::string> split_lowerdirs(const std::string& value) {
  std::vector<std::string> dirs(1);
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      dirs.back() += value[++i];
    } else if (value[i] == ':') {
      dirs.emplace_back();
    } else {
      dirs.back() += value[i];
    }
  }
  std::erase(dirs, std::string());
  return dirs;
}

Status empty_directory(int fd, const std::string& display, dev_t device, uint64_t* removed) {
  for (const std::string& name : TRY(read_directory(fd, display))) {
    std::string path = display + "/" + name;
    struct stat st;
    if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error("reading " + path, errno);
    if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != device)
        return make_error(ErrorCode::kBusy,
                          path + " is another mounted filesystem; unmount it first");
      UniqueFd child(::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child.valid()) return errno_error("opening " + path, errno);
      TRY(empty_directory(child.get(), path, device, removed));
    }
    if (::unlinkat(fd, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0)
      return errno_error("removing " + path, errno);
    ++*removed;
  }
  return {};
}

Status discard_below(int fd, const std::string& path, const std::string& display, dev_t device,
                     const IgnoreList& ignore, std::vector<std::string>* removed) {
  struct stat before;
  if (::fstat(fd, &before) != 0) return errno_error("reading " + display, errno);
  size_t removed_before = removed->size();
  for (const std::string& name : TRY(read_directory(fd, display))) {
    std::string child = path + "/" + name;
    std::string child_display = display + "/" + name;
    struct stat st;
    if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error("reading " + child_display, errno);
    bool directory = S_ISDIR(st.st_mode);
    if (directory && st.st_dev != device)
      return make_error(ErrorCode::kBusy,
                        child_display + " is another mounted filesystem; unmount it first");
    UniqueFd sub;
    if (directory) {
      sub = UniqueFd(::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) return errno_error("opening " + child_display, errno);
    }
    if (!ignore.matches(child)) {
      if (directory) TRY(discard_below(sub.get(), child, child_display, device, ignore, removed));
      continue;
    }
    uint64_t count = 0;
    if (directory) TRY(empty_directory(sub.get(), child_display, device, &count));
    if (::unlinkat(fd, name.c_str(), directory ? AT_REMOVEDIR : 0) != 0)
      return errno_error("removing " + child_display, errno);
    removed->push_back(child);
  }
  // Removing entries touched the dir's mtime, which is part of what the
  // merged view showed: put it back.
  if (removed->size() != removed_before) {
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    if (::futimens(fd, times) != 0) return errno_error("restoring the mtime of " + display, errno);
  }
  return {};
}

}  // namespace

Result<std::vector<std::string>> discard_ignored(const std::string& upper_dir,
                                                 const IgnoreList& ignore) {
  UniqueFd fd(::open(upper_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return errno_error("opening " + upper_dir, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errno_error("reading " + upper_dir, errno);
  std::vector<std::string> removed;  // merged paths, so "/etc/x"
  TRY(discard_below(fd.get(), "", upper_dir, st.st_dev, ignore, &removed));
  return removed;
}

std::vector<MountInfo> parse_mountinfo(const std::string& text) {
  std::vector<MountInfo> mounts;
  for (const std::string& line : split(text, '\n')) {
    size_t separator = line.find(" - ");
    if (separator == std::string::npos) continue;
    auto before = split(line.substr(0, separator), ' ');
    auto after = split(line.substr(separator + 3), ' ');
    if (before.size() < 5 || after.size() < 3) continue;
    MountInfo info;
    info.mount_point = unescape_octal(before[4]);
    info.fstype = after[0];
    for (const std::string& option : split(after[2], ',')) {
      size_t equals = option.find('=');
      if (equals == std::string::npos) info.options.emplace_back(option, "");
      else info.options.emplace_back(option.substr(0, equals), unescape_octal(option.substr(equals + 1)));
    }
    mounts.push_back(std::move(info));
  }
  return mounts;
}

Result<std::vector<OverlayMountUse>> overlay_mounts_using(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return errno_error("reading /proc/self/mountinfo", errno);
  std::stringstream text;
  text << in.rdbuf();
  std::string target = canonical(dir);
  std::vector<OverlayMountUse> uses;
  for (const MountInfo& mount : parse_mountinfo(text.str())) {
    if (mount.fstype != "overlay") continue;
    for (const auto& [key, value] : mount.options) {
      std::vector<std::string> paths;
      std::string role = key;
      if (key == "upperdir" || key == "workdir") paths.push_back(value);
      else if (key == "lowerdir" || key == "lowerdir+" || key == "datadir+") {
        paths = split_lowerdirs(value);
        role = "lowerdir";
      }
      for (const std::string& path : paths) {
        std::string used = canonical(path);
        if (inside_or_equal(used, target) || inside_or_equal(target, used))
          uses.push_back({mount.mount_point, role, path});
      }
    }
  }
  return uses;
}

Result<ResetStats> reset_upper(const std::string& upper_dir,
                               const std::optional<std::string>& work_dir) {
  std::vector<std::string> dirs{upper_dir};
  if (work_dir) dirs.push_back(*work_dir);
  std::vector<UniqueFd> fds;
  for (const std::string& dir : dirs) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) return make_error(ErrorCode::kNotFound, dir + " does not exist");
      if (errno == ENOTDIR || errno == ELOOP)
        return make_error(ErrorCode::kInvalidArgument,
                          dir + " is not a directory (symlinks are not followed)");
      return errno_error("opening " + dir, errno);
    }
    if (canonical(dir) == "/")
      return make_error(ErrorCode::kInvalidArgument, "refusing to empty the root directory");
    auto uses = TRY(overlay_mounts_using(dir));
    if (!uses.empty())
      return make_error(ErrorCode::kBusy,
                        dir + " is in use by the overlay mounted at " + uses[0].mount_point +
                            " (its " + uses[0].option + " " + uses[0].path +
                            "); unmount it before resetting");
    fds.push_back(std::move(fd));
  }
  ResetStats stats;
  for (size_t i = 0; i < dirs.size(); ++i) {
    struct stat st;
    if (::fstat(fds[i].get(), &st) != 0) return errno_error("reading " + dirs[i], errno);
    TRY(empty_directory(fds[i].get(), dirs[i], st.st_dev, &stats.removed));
  }
  return stats;
}

}  // namespace goldroot

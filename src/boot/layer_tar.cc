#include "boot/layer_tar.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "sys/unique_fd.h"

namespace goldroot::boot {
namespace {

constexpr size_t kBlock = 512;

struct Member {
  std::string path;
  std::string link;
  char type = '0';
  uint64_t size = 0;
  uint32_t mode = 0644;
  uint32_t uid = 0, gid = 0;
  int64_t mtime = 0;
  uint32_t device_major = 0, device_minor = 0;
  std::map<std::string, std::string> xattrs;
};

Error corrupt(const std::string& what) {
  return make_error(ErrorCode::kCorruption, "host layer tar: " + what);
}

Result<uint64_t> octal(std::string_view field, const std::string& name) {
  uint64_t value = 0;
  if (!field.empty() && (static_cast<unsigned char>(field[0]) & 0x80)) {  // base-256
    for (size_t i = 1; i < field.size(); ++i) value = (value << 8) | static_cast<unsigned char>(field[i]);
    return value;
  }
  for (char c : field) {
    if (c == ' ' || c == '\0') {
      if (value) break;
      continue;
    }
    if (c < '0' || c > '7') return corrupt("bad number in header of " + name);
    value = value * 8 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

// A pax decimal; a fractional part (mtime=1700000000.5) is dropped.
Result<uint64_t> decimal(std::string_view text, const std::string& key) {
  uint64_t value = 0;
  size_t digits = 0;
  for (char c : text) {
    if (c == '.') break;
    if (c < '0' || c > '9' || ++digits > 18) return corrupt("bad pax " + key + " \"" + std::string(text) + "\"");
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (digits == 0) return corrupt("bad pax " + key + " \"" + std::string(text) + "\"");
  return value;
}

std::string field_string(const char* field, size_t length) {
  return std::string(field, strnlen(field, length));
}

// "len key=value\n" records.
Status parse_pax(std::string_view records, std::map<std::string, std::string>* out) {
  while (!records.empty()) {
    size_t space = records.find(' ');
    if (space == std::string_view::npos) return corrupt("bad pax record");
    size_t length = 0;
    for (char c : records.substr(0, space)) {
      if (c < '0' || c > '9') return corrupt("bad pax record length");
      length = length * 10 + static_cast<size_t>(c - '0');
    }
    if (length <= space + 1 || length > records.size()) return corrupt("bad pax record length");
    std::string_view record = records.substr(space + 1, length - space - 2);  // drop "\n"
    size_t equals = record.find('=');
    if (equals == std::string_view::npos) return corrupt("pax record without '='");
    (*out)[std::string(record.substr(0, equals))] = std::string(record.substr(equals + 1));
    records.remove_prefix(length);
  }
  return ok_status();
}

// A relative, ".."-free path; "" for the archive root.
Result<std::string> clean_path(const std::string& raw) {
  std::string cleaned;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t slash = raw.find('/', start);
    if (slash == std::string::npos) slash = raw.size();
    std::string part = raw.substr(start, slash - start);
    start = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return corrupt("member \"" + raw + "\" leaves the layer");
    if (!cleaned.empty()) cleaned += '/';
    cleaned += part;
  }
  return cleaned;
}

// openat2 beneath `directory`, following no symlink on the way or at the end
// (with O_PATH|O_NOFOLLOW a trailing symlink is opened itself). -1 and errno
// on failure, so callers can tell a missing name from a symlink.
int open_no_symlinks(int directory, const std::string& path, uint64_t flags) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    int fd = static_cast<int>(::syscall(SYS_openat2, directory, path.empty() ? "." : path.c_str(),
                                        &how, sizeof(how)));
    if (fd >= 0 || (errno != EINTR && errno != EAGAIN)) return fd;
  }
}

// Opens the parent of `path` one directory at a time, each step beneath the
// last and never through a symlink, creating missing directories 0755 in the
// step already opened — so nothing an earlier member planted (a symlink
// "etc" -> /somewhere) can carry the walk, or a mkdir, out of the layer.
Result<UniqueFd> open_parent(int root, const std::string& path, std::string* leaf) {
  size_t slash = path.rfind('/');
  *leaf = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string parent = slash == std::string::npos ? "" : path.substr(0, slash);
  UniqueFd current(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  if (!current.valid()) return errno_error("dup", errno);
  size_t start = 0;
  while (start < parent.size()) {
    size_t next = std::min(parent.find('/', start), parent.size());
    std::string step = parent.substr(start, next - start);
    std::string so_far = parent.substr(0, next);
    start = next + 1;
    int fd = open_no_symlinks(current.get(), step, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
      if (::mkdirat(current.get(), step.c_str(), 0755) != 0 && errno != EEXIST)
        return errno_error("mkdir " + so_far, errno);
      fd = open_no_symlinks(current.get(), step, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    }
    if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
      struct stat st;
      bool symlink = ::fstatat(current.get(), step.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                     S_ISLNK(st.st_mode);
      return corrupt("member \"" + path + "\" lies below \"" + so_far + "\", which is " +
                     (symlink ? "a symlink" : "not a directory"));
    }
    if (fd < 0) return errno_error("open " + so_far, errno);
    current = UniqueFd(fd);
  }
  return current;
}

// Where a member's metadata goes: an fd of the member itself (files and
// directories), or its name in `parent` for what cannot be opened for
// writing (symlinks, devices) — used only with AT_SYMLINK_NOFOLLOW, or right
// after the member was created under that name.
struct Target {
  int parent;
  const std::string& leaf;
  int fd;  // -1: use parent and leaf
};

Status apply_metadata(const Target& target, const Member& member) {
  bool by_fd = target.fd >= 0;
  if (by_fd ? ::fchown(target.fd, member.uid, member.gid) != 0
            : ::fchownat(target.parent, target.leaf.c_str(), member.uid, member.gid,
                         AT_SYMLINK_NOFOLLOW) != 0)
    return errno_error("chown " + member.path, errno);
  if (member.type == '2') {  // a symlink's mode means nothing, and it takes no xattrs here
    timespec times[2] = {{member.mtime, 0}, {member.mtime, 0}};
    ::utimensat(target.parent, target.leaf.c_str(), times, AT_SYMLINK_NOFOLLOW);  // best effort
    return ok_status();
  }
  // Without a fd this is a device node mknodat made under this name a
  // moment ago, so following the name cannot lead anywhere else (Linux
  // before 6.6 has no fchmodat that refuses symlinks without /proc).
  if (by_fd ? ::fchmod(target.fd, member.mode & 07777) != 0
            : ::fchmodat(target.parent, target.leaf.c_str(), member.mode & 07777, 0) != 0)
    return errno_error("chmod " + member.path, errno);
  if (!member.xattrs.empty()) {
    UniqueFd path_only;
    std::string proc;
    if (!by_fd) {  // setxattr through /proc follows the magic link to the node itself
      path_only = UniqueFd(open_no_symlinks(target.parent, target.leaf, O_PATH | O_NOFOLLOW));
      if (!path_only.valid()) return errno_error("open " + member.path, errno);
      proc = "/proc/self/fd/" + std::to_string(path_only.get());
    }
    for (const auto& [name, value] : member.xattrs)
      if ((by_fd ? ::fsetxattr(target.fd, name.c_str(), value.data(), value.size(), 0)
                 : ::setxattr(proc.c_str(), name.c_str(), value.data(), value.size(), 0)) != 0)
        return errno_error("setxattr " + name + " on " + member.path, errno);
  }
  timespec times[2] = {{member.mtime, 0}, {member.mtime, 0}};
  if (by_fd) ::futimens(target.fd, times);  // best effort
  else ::utimensat(target.parent, target.leaf.c_str(), times, AT_SYMLINK_NOFOLLOW);
  return ok_status();
}

// A directory member: made if missing, kept if already a directory (a parent
// an earlier member implied), refused over anything else — a symlink there
// would otherwise carry the chmod and chown out of the layer.
Result<UniqueFd> make_directory(int parent, const std::string& leaf, const std::string& path) {
  if (::mkdirat(parent, leaf.c_str(), 0700) != 0 && errno != EEXIST)
    return errno_error("mkdir " + path, errno);
  int fd = open_no_symlinks(parent, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
    return corrupt("directory member \"" + path + "\" would replace an existing non-directory");
  if (fd < 0) return errno_error("open " + path, errno);
  return UniqueFd(fd);
}

// A hard link's target must be an earlier member reached without a symlink;
// the link is made from the opened target, so the name is not looked up again.
Status make_hard_link(int root, int parent, const std::string& leaf, const Member& member,
                      const std::string& path) {
  std::string target = TRY(clean_path(member.link));
  UniqueFd source(open_no_symlinks(root, target, O_PATH | O_NOFOLLOW));
  if (!source.valid() && (errno == ELOOP || errno == ENOTDIR || errno == ENOENT || errno == EXDEV))
    return corrupt("hard link \"" + path + "\" points at \"" + target +
                   "\", which is not a member inside the layer reached without symlinks");
  if (!source.valid()) return errno_error("open " + target, errno);
  struct stat st;
  if (::fstat(source.get(), &st) != 0) return errno_error("stat " + target, errno);
  if (S_ISDIR(st.st_mode))
    return corrupt("hard link \"" + path + "\" points at the directory \"" + target + "\"");
  if (::linkat(source.get(), "", parent, leaf.c_str(), AT_EMPTY_PATH) != 0)
    return errno_error("link " + path + " to " + target, errno);
  return ok_status();
}

Status write_member(int root, const Member& member, std::string_view data, UnpackReport* report) {
  std::string path = TRY(clean_path(member.path));
  if (path.empty()) return ok_status();  // "./" itself
  std::string leaf;
  UniqueFd parent = TRY(open_parent(root, path, &leaf));
  int directory = parent.get();
  if (member.type != '5') ::unlinkat(directory, leaf.c_str(), 0);  // replace, never follow
  UniqueFd self;  // the member, when it can be opened
  switch (member.type) {
    case '0': case '\0': case '7': {
      self = UniqueFd(::openat(directory, leaf.c_str(),
                               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!self.valid()) return errno_error("create " + path, errno);
      for (size_t done = 0; done < data.size();) {
        ssize_t n = ::write(self.get(), data.data() + done, data.size() - done);
        if (n < 0) return errno_error("write " + path, errno);
        done += static_cast<size_t>(n);
      }
      break;
    }
    case '5':
      self = TRY(make_directory(directory, leaf, path));
      break;
    case '2':
      if (::symlinkat(member.link.c_str(), directory, leaf.c_str()) != 0)
        return errno_error("symlink " + path, errno);
      break;
    case '1':
      TRY(make_hard_link(root, directory, leaf, member, path));
      ++report->entries;
      return ok_status();  // shares the target's metadata
    case '3': case '4': {
      mode_t kind = member.type == '3' ? S_IFCHR : S_IFBLK;
      dev_t device = makedev(member.device_major, member.device_minor);
      if (::mknodat(directory, leaf.c_str(), kind | 0600, device) != 0)
        return errno_error("mknod " + path, errno);
      if (kind == S_IFCHR && device == 0) ++report->whiteouts;
      break;
    }
    default:
      return corrupt("member \"" + path + "\" has unsupported type '" + std::string(1, member.type) + "'");
  }
  ++report->entries;
  return apply_metadata({directory, leaf, self.valid() ? self.get() : -1}, member);
}

}  // namespace

Result<UnpackReport> unpack_layer_tar(std::string_view archive, const std::string& destination) {
  UniqueFd root(::open(destination.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return errno_error("open " + destination, errno);
  UnpackReport report;
  std::map<std::string, std::string> pax;
  std::string long_name, long_link;
  size_t offset = 0;
  while (true) {
    if (offset + kBlock > archive.size()) return corrupt("archive ends without its end marker");
    const char* header = archive.data() + offset;
    if (std::all_of(header, header + kBlock, [](char c) { return c == 0; })) break;
    unsigned checksum = 0;
    for (size_t i = 0; i < kBlock; ++i)
      checksum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
    std::string raw_name = field_string(header, 100);
    if (TRY(octal(std::string_view(header + 148, 8), raw_name)) != checksum)
      return corrupt("bad header checksum at \"" + raw_name + "\"");
    Member member;
    member.type = header[156];
    member.size = TRY(octal(std::string_view(header + 124, 12), raw_name));
    offset += kBlock;
    if (member.size > archive.size() - offset) return corrupt("member \"" + raw_name + "\" is truncated");
    std::string_view data = archive.substr(offset, member.size);
    offset += (member.size + kBlock - 1) / kBlock * kBlock;

    if (member.type == 'x') { TRY(parse_pax(data, &pax)); continue; }
    if (member.type == 'g') continue;
    if (member.type == 'L') { long_name = field_string(data.data(), data.size()); continue; }
    if (member.type == 'K') { long_link = field_string(data.data(), data.size()); continue; }

    std::string prefix = std::memcmp(header + 257, "ustar", 5) == 0 ? field_string(header + 345, 155) : "";
    member.path = prefix.empty() ? raw_name : prefix + "/" + raw_name;
    member.link = field_string(header + 157, 100);
    member.mode = static_cast<uint32_t>(TRY(octal(std::string_view(header + 100, 8), raw_name)));
    member.uid = static_cast<uint32_t>(TRY(octal(std::string_view(header + 108, 8), raw_name)));
    member.gid = static_cast<uint32_t>(TRY(octal(std::string_view(header + 116, 8), raw_name)));
    member.mtime = static_cast<int64_t>(TRY(octal(std::string_view(header + 136, 12), raw_name)));
    member.device_major = static_cast<uint32_t>(TRY(octal(std::string_view(header + 329, 8), raw_name)));
    member.device_minor = static_cast<uint32_t>(TRY(octal(std::string_view(header + 337, 8), raw_name)));
    if (!long_name.empty()) member.path = std::move(long_name);
    if (!long_link.empty()) member.link = std::move(long_link);
    long_name.clear();
    long_link.clear();
    for (const auto& [key, value] : pax) {
      if (key == "path") member.path = value;
      else if (key == "linkpath") member.link = value;
      else if (key == "uid") member.uid = static_cast<uint32_t>(TRY(decimal(value, key)));
      else if (key == "gid") member.gid = static_cast<uint32_t>(TRY(decimal(value, key)));
      else if (key == "mtime") member.mtime = static_cast<int64_t>(TRY(decimal(value, key)));
      else if (key.rfind("SCHILY.xattr.", 0) == 0) member.xattrs[key.substr(13)] = value;
    }
    pax.clear();
    if (member.type == '0' && !member.path.empty() && member.path.back() == '/') member.type = '5';
    Status written = write_member(root.get(), member, data, &report);
    if (!written.ok()) return std::move(written).error().with_context("unpacking host layer");
  }
  return report;
}

}  // namespace goldroot::boot

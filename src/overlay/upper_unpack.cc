#include "overlay/upper_unpack.h"

#include <archive.h>
#include <archive_entry.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <optional>

#include "base/strings.h"
#include "image/fs_entry.h"
#include "sys/unique_fd.h"

namespace goldroot {

namespace {

struct ReadCloser {
  void operator()(struct archive* archive) const { archive_read_free(archive); }
};
struct WriteCloser {
  void operator()(struct archive* archive) const { archive_write_free(archive); }
};

std::string reason(struct archive* archive) {
  const char* message = archive_error_string(archive);
  return message ? message : "libarchive error";
}

// A member name is relative and never climbs: "etc/x", "." for the root.
bool safe_name(const std::string& name) {
  if (name.empty() || name[0] == '/') return false;
  for (const std::string& part : split(name, '/'))
    if (part == "..") return false;
  return true;
}

}  // namespace

Result<uint64_t> unpack_upper_archive(const std::string& path, const std::string& destination) {
  std::unique_ptr<struct archive, ReadCloser> in(archive_read_new());
  archive_read_support_format_tar(in.get());
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno_error("reading the upper archive " + path, errno);
  if (archive_read_open_filename(in.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    return make_error(ErrorCode::kCorruption,
                      path + " is not a readable upper archive: " + reason(in.get()));
  std::unique_ptr<struct archive, WriteCloser> disk(archive_write_disk_new());
  archive_write_disk_set_options(
      disk.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                      ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                      ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  uint64_t members = 0;
  std::optional<Entry> root;
  while (true) {
    struct archive_entry* entry = nullptr;
    int status = archive_read_next_header(in.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    // ARCHIVE_RETRY ("damaged archive") is no member either.
    const char* pathname = status == ARCHIVE_OK || status == ARCHIVE_WARN
                               ? archive_entry_pathname(entry)
                               : nullptr;
    if (!pathname)
      return make_error(ErrorCode::kCorruption, path + " is not a readable upper archive after " +
                                                    std::to_string(members) +
                                                    " members: " + reason(in.get()));
    std::string name = pathname;
    if (!safe_name(name))
      return make_error(ErrorCode::kCorruption,
                        path + " holds the member '" + name + "', which would land outside the upper");
    if (name == "." || name == "./") {
      // The root is `destination` itself, which exists: libarchive would set
      // its times before its children change them. Applied last instead.
      root = Entry{};
      root->type = FileType::kDirectory;
      root->mode = archive_entry_perm(entry) & 07777;
      root->uid = static_cast<uint32_t>(archive_entry_uid(entry));
      root->gid = static_cast<uint32_t>(archive_entry_gid(entry));
      root->mtime_sec = archive_entry_mtime(entry);
      root->mtime_nsec = static_cast<uint32_t>(archive_entry_mtime_nsec(entry));
      archive_entry_xattr_reset(entry);
      const char* key;
      const void* value;
      size_t size;
      while (archive_entry_xattr_next(entry, &key, &value, &size) == ARCHIVE_OK)
        root->xattrs.emplace_back(key, std::string(static_cast<const char*>(value), size));
      ++members;
      continue;
    }
    archive_entry_set_pathname(entry, (destination + "/" + name).c_str());
    if (const char* link = archive_entry_hardlink(entry)) {
      std::string target = link;
      if (!safe_name(target))
        return make_error(ErrorCode::kCorruption, path + " links '" + name + "' to '" + target +
                                                      "', outside the upper");
      archive_entry_set_hardlink(entry, (destination + "/" + target).c_str());
    }
    // A warning is a member not restored as it was (a path through a
    // symlink, an xattr or owner that did not take): a capture must be
    // whole, so it fails too.
    if (archive_read_extract2(in.get(), entry, disk.get()) != ARCHIVE_OK)
      return make_error(ErrorCode::kCorruption,
                        "unpacking '" + name + "' of " + path + ": " + reason(disk.get()));
    ++members;
  }
  if (archive_write_close(disk.get()) != ARCHIVE_OK)
    return make_error(ErrorCode::kIo, "finishing the unpack of " + path + ": " + reason(disk.get()));
  if (root) {
    UniqueFd fd(::open(destination.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return errno_error("opening " + destination, errno);
    TRY(apply_metadata(fd.get(), ".", *root, destination));
  }
  return members;
}

}  // namespace goldroot

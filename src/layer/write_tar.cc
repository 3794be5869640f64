// Writes a RenderedLayer as a pax tar archive (layer_writers.h), with
// whiteouts as 0/0 character devices and opaque directories as
// SCHILY.xattr.trusted.overlay.opaque, which tar --xattrs and libarchive
// restore.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "layer/layer_writers.h"
#include "sys/env.h"
#include "sys/unique_fd.h"

namespace goldroot {

namespace {

struct ArchiveDeleter {
  void operator()(struct archive* archive) const { archive_write_free(archive); }
};
struct EntryDeleter {
  void operator()(struct archive_entry* entry) const { archive_entry_free(entry); }
};

Error archive_error(struct archive* archive, const std::string& what) {
  const char* message = archive_error_string(archive);
  return make_error(ErrorCode::kIo, what + ": " + (message ? message : "libarchive error"));
}

}  // namespace

Status write_layer_tar(const RenderedLayer& layer, const std::string& path, SourceCache* sources) {
  std::unique_ptr<struct archive, ArchiveDeleter> archive(archive_write_new());
  archive_write_set_format_pax_restricted(archive.get());
  if (archive_write_open_filename(archive.get(), path.c_str()) != ARCHIVE_OK)
    return archive_error(archive.get(), "creating " + path);
  for (const auto& [relative, node] : layer.merged.nodes) {
    std::unique_ptr<struct archive_entry, EntryDeleter> entry(archive_entry_new());
    const struct stat& st = node.st;
    archive_entry_set_pathname(entry.get(), relative.c_str());
    archive_entry_set_uid(entry.get(), st.st_uid);
    archive_entry_set_gid(entry.get(), st.st_gid);
    archive_entry_set_perm(entry.get(), st.st_mode & 07777);
    archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    std::string data;
    bool has_data = false;
    switch (node.kind) {
      case NodeKind::kDirectory:
        archive_entry_set_filetype(entry.get(), AE_IFDIR);
        if (node.opaque)
          archive_entry_xattr_add_entry(entry.get(), "trusted.overlay.opaque", "y", 1);
        break;
      case NodeKind::kFile:
        if (sources && st.st_size <= SourceCache::kLargest)
          data = *TRY(sources->contents(node));
        else
          data = TRY(read_file_no_follow(node.source));
        has_data = true;
        break;
      case NodeKind::kTemplate:
        data = layer.contents.at(relative);
        has_data = true;
        break;
      case NodeKind::kSymlink:
        archive_entry_set_filetype(entry.get(), AE_IFLNK);
        archive_entry_set_symlink(entry.get(), node.link_target.c_str());
        break;
      case NodeKind::kWhiteout:
        archive_entry_set_filetype(entry.get(), AE_IFCHR);
        archive_entry_set_perm(entry.get(), 0);
        archive_entry_set_rdev(entry.get(), 0);
        archive_entry_set_uid(entry.get(), 0);
        archive_entry_set_gid(entry.get(), 0);
        break;
      case NodeKind::kSpecial:
        archive_entry_set_filetype(entry.get(), st.st_mode & S_IFMT);
        archive_entry_set_rdev(entry.get(), st.st_rdev);
        break;
    }
    if (has_data) {
      archive_entry_set_filetype(entry.get(), AE_IFREG);
      archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
    }
    if (archive_write_header(archive.get(), entry.get()) != ARCHIVE_OK)
      return archive_error(archive.get(), "writing " + relative + " to " + path);
    if (has_data && !data.empty() &&
        archive_write_data(archive.get(), data.data(), data.size()) < 0)
      return archive_error(archive.get(), "writing " + relative + " to " + path);
  }
  if (archive_write_close(archive.get()) != ARCHIVE_OK)
    return archive_error(archive.get(), "finishing " + path);
  return {};
}

}  // namespace goldroot

#include "bootserver/layer_token.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <memory>

namespace goldroot {

namespace {

using ReadArchive = std::unique_ptr<archive, int (*)(archive*)>;
using WriteArchive = std::unique_ptr<archive, int (*)(archive*)>;
using Entry = std::unique_ptr<archive_entry, void (*)(archive_entry*)>;

Error archive_failure(archive* handle, const std::string& what) {
  const char* reason = archive_error_string(handle);
  return make_error(ErrorCode::kIo, what + ": " + (reason ? reason : "libarchive error"));
}

}  // namespace

Status append_to_tar(const std::string& path, const std::string& member,
                     const std::string& content, int mode) {
  std::string output = path + ".token";
  {
    ReadArchive in(archive_read_new(), archive_read_free);
    archive_read_support_format_tar(in.get());
    if (archive_read_open_filename(in.get(), path.c_str(), 64 * 1024) != ARCHIVE_OK)
      return archive_failure(in.get(), "reading the layer " + path);
    WriteArchive out(archive_write_new(), archive_write_free);
    archive_write_set_format_pax_restricted(out.get());
    if (archive_write_open_filename(out.get(), output.c_str()) != ARCHIVE_OK)
      return archive_failure(out.get(), "writing " + output);
    archive_entry* entry = nullptr;
    char buffer[64 * 1024];
    while (true) {
      int status = archive_read_next_header(in.get(), &entry);
      if (status == ARCHIVE_EOF) break;
      if (status != ARCHIVE_OK) return archive_failure(in.get(), "reading the layer " + path);
      if (archive_write_header(out.get(), entry) != ARCHIVE_OK)
        return archive_failure(out.get(), "writing " + output);
      la_ssize_t length;
      while ((length = archive_read_data(in.get(), buffer, sizeof buffer)) > 0)
        if (archive_write_data(out.get(), buffer, static_cast<size_t>(length)) != length)
          return archive_failure(out.get(), "writing " + output);
      if (length < 0) return archive_failure(in.get(), "reading the layer " + path);
    }
    Entry added(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(added.get(), member.c_str());
    archive_entry_set_filetype(added.get(), AE_IFREG);
    archive_entry_set_perm(added.get(), static_cast<mode_t>(mode));
    archive_entry_set_uid(added.get(), 0);
    archive_entry_set_gid(added.get(), 0);
    archive_entry_set_size(added.get(), static_cast<la_int64_t>(content.size()));
    archive_entry_set_mtime(added.get(), ::time(nullptr), 0);
    if (archive_write_header(out.get(), added.get()) != ARCHIVE_OK ||
        archive_write_data(out.get(), content.data(), content.size()) !=
            static_cast<la_ssize_t>(content.size()) ||
        archive_write_close(out.get()) != ARCHIVE_OK)
      return archive_failure(out.get(), "writing " + output);
  }
  if (std::rename(output.c_str(), path.c_str()) != 0)
    return errno_error("renaming " + output, errno);
  return {};
}

}  // namespace goldroot

#include "initrd/cpio_writer.h"

#include <archive.h>
#include <archive_entry.h>

#include <fstream>
#include <sstream>

namespace goldroot {
namespace {

Error archive_error(struct archive* archive, const std::string& what) {
  const char* message = archive_error_string(archive);
  return make_error(ErrorCode::kIo, what + ": " + (message ? message : "libarchive error"));
}

}  // namespace

void CpioWriter::Deleter::operator()(struct archive* archive) const { archive_write_free(archive); }

CpioWriter::CpioWriter(std::unique_ptr<struct archive, Deleter> archive, std::string path)
    : archive_(std::move(archive)), path_(std::move(path)) {}
CpioWriter::CpioWriter(CpioWriter&&) noexcept = default;
CpioWriter& CpioWriter::operator=(CpioWriter&&) noexcept = default;
CpioWriter::~CpioWriter() = default;

Result<CpioWriter> CpioWriter::create(const std::string& path) {
  std::unique_ptr<struct archive, Deleter> archive(archive_write_new());
  if (archive_write_set_format_cpio_newc(archive.get()) != ARCHIVE_OK ||
      archive_write_add_filter_gzip(archive.get()) != ARCHIVE_OK)
    return archive_error(archive.get(), "setting up a cpio archive");
  if (archive_write_open_filename(archive.get(), path.c_str()) != ARCHIVE_OK)
    return archive_error(archive.get(), "creating " + path);
  return CpioWriter(std::move(archive), path);
}

Status CpioWriter::add(const std::string& path, unsigned type, uint32_t mode,
                       std::string_view contents, const std::string& target) {
  struct archive_entry* entry = archive_entry_new();
  archive_entry_set_pathname(entry, path.c_str());
  archive_entry_set_filetype(entry, type);
  archive_entry_set_perm(entry, mode);
  archive_entry_set_uid(entry, 0);
  archive_entry_set_gid(entry, 0);
  archive_entry_set_mtime(entry, 0, 0);
  archive_entry_set_nlink(entry, type == AE_IFDIR ? 2 : 1);
  if (type == AE_IFLNK) archive_entry_set_symlink(entry, target.c_str());
  archive_entry_set_size(entry, type == AE_IFREG ? contents.size() : 0);
  int header = archive_write_header(archive_.get(), entry);
  archive_entry_free(entry);
  if (header != ARCHIVE_OK) return archive_error(archive_.get(), "writing " + path + " to " + path_);
  if (type == AE_IFREG && !contents.empty() &&
      archive_write_data(archive_.get(), contents.data(), contents.size()) !=
          static_cast<la_ssize_t>(contents.size()))
    return archive_error(archive_.get(), "writing " + path + " to " + path_);
  return ok_status();
}

Status CpioWriter::add_directory(const std::string& path, uint32_t mode) {
  return add(path, AE_IFDIR, mode, {}, {});
}

Status CpioWriter::add_file(const std::string& path, uint32_t mode, std::string_view contents) {
  return add(path, AE_IFREG, mode, contents, {});
}

Status CpioWriter::add_file_from(const std::string& path, uint32_t mode, const std::string& source) {
  std::ifstream in(source, std::ios::binary);
  if (!in) return errno_error("reading " + source, errno);
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return errno_error("reading " + source, errno);
  return add_file(path, mode, contents.str());
}

Status CpioWriter::add_symlink(const std::string& path, const std::string& target) {
  return add(path, AE_IFLNK, 0777, {}, target);
}

Status CpioWriter::finish() {
  if (archive_write_close(archive_.get()) != ARCHIVE_OK)
    return archive_error(archive_.get(), "finishing " + path_);
  return ok_status();
}

}  // namespace goldroot

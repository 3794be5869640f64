// CpioWriter: writes an initramfs archive (cpio "newc", gzip-compressed)
// through libarchive, the format the kernel unpacks at boot. Every entry is
// owned by root with mtime 0, so the same inputs give the same bytes.
// Not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"

struct archive;

namespace goldroot {

class CpioWriter {
 public:
  // Creates `path` (truncating it).
  static Result<CpioWriter> create(const std::string& path);
  CpioWriter(CpioWriter&&) noexcept;
  CpioWriter& operator=(CpioWriter&&) noexcept;
  ~CpioWriter();

  // `path` is relative ("usr/lib/goldroot"); parents must come first.
  Status add_directory(const std::string& path, uint32_t mode = 0755);
  Status add_file(const std::string& path, uint32_t mode, std::string_view contents);
  // Copies a file of the host (following symlinks).
  Status add_file_from(const std::string& path, uint32_t mode, const std::string& source);
  Status add_symlink(const std::string& path, const std::string& target);
  // Flushes and closes; the archive is complete only after this.
  Status finish();

 private:
  struct Deleter {
    void operator()(struct archive* archive) const;
  };
  CpioWriter(std::unique_ptr<struct archive, Deleter> archive, std::string path);
  Status add(const std::string& path, unsigned type, uint32_t mode, std::string_view contents,
             const std::string& target);

  std::unique_ptr<struct archive, Deleter> archive_;
  std::string path_;
};

}  // namespace goldroot

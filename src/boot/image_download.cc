#include "boot/image_download.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "sys/unique_fd.h"

namespace goldroot::boot {
namespace {

Status fsync_parent(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string parent = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  UniqueFd directory(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!directory.valid()) return errno_error("open " + parent, errno);
  if (::fsync(directory.get()) != 0) return errno_error("fsync " + parent, errno);
  return ok_status();
}

Result<uint64_t> file_length(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return errno_error("stat " + path, errno);
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace

Status verify_image_file(const std::string& path, const Digest& sha256, uint64_t size) {
  uint64_t actual_size = 0;
  Digest actual = TRY(sha256_of_file(path, &actual_size));
  if (actual_size != size)
    return make_error(ErrorCode::kCorruption,
                      "image size mismatch: expected " + std::to_string(size) + " bytes, got " +
                          std::to_string(actual_size) + "; refusing to mount");
  if (actual != sha256)
    return make_error(ErrorCode::kCorruption, "image digest mismatch: expected " + sha256.hex() +
                                                  ", got " + actual.hex() + "; refusing to mount");
  return ok_status();
}

Result<DownloadReport> download_image(const ImageSpec& image, const std::string& target,
                                      const DownloadOptions& options) {
  DownloadReport report;
  if (::access(target.c_str(), F_OK) == 0) {
    if (verify_image_file(target, image.sha256, image.size).ok()) {
      report.reused = true;
      return report;
    }
    ::unlink(target.c_str());  // stale or damaged: fetch it again
  }
  std::string partial = target + ".part";
  UniqueFd fd(::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("open " + partial, errno);
  uint64_t have = TRY(file_length(fd.get(), partial));
  if (have > image.size) {  // not a prefix of this image
    if (::ftruncate(fd.get(), 0) != 0) return errno_error("truncate " + partial, errno);
    have = 0;
  }
  report.resumed_from = have;

  int failures = 0;
  std::string last_error;
  while (have < image.size) {
    if (failures >= options.max_attempts)
      return make_error(ErrorCode::kIo, "downloading " + image.url + ": giving up after " +
                                            std::to_string(failures) + " attempts without progress (" +
                                            last_error + ")");
    ++report.attempts;
    if (::lseek(fd.get(), static_cast<off_t>(have), SEEK_SET) < 0)
      return errno_error("seek " + partial, errno);
    auto fetched = fetch_range_to_fd(image.url, have, image.size - have, fd.get(), options.fetch);
    uint64_t now = TRY(file_length(fd.get(), partial));
    if (fetched.ok() && fetched->status == 200 && have > 0) {
      // The server ignored Range: start over from the first byte.
      if (::ftruncate(fd.get(), 0) != 0) return errno_error("truncate " + partial, errno);
      have = 0;
      ++failures;
      last_error = "server ignored Range";
      continue;
    }
    if (!fetched.ok()) {
      if (fetched.error().code == ErrorCode::kNotFound) return std::move(fetched).error();
      last_error = fetched.error().message;
    } else {
      last_error = "connection closed early";
    }
    report.downloaded += now - have;
    if (now > have) failures = 0;
    else ++failures;
    have = now;
  }
  if (::fsync(fd.get()) != 0) return errno_error("fsync " + partial, errno);
  fd.reset();
  Status verified = verify_image_file(partial, image.sha256, image.size);
  if (!verified.ok()) {
    ::unlink(partial.c_str());
    return std::move(verified).error();
  }
  if (::rename(partial.c_str(), target.c_str()) != 0)
    return errno_error("rename " + partial + " to " + target, errno);
  TRY(fsync_parent(target));
  return report;
}

}  // namespace goldroot::boot

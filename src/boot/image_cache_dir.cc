#include "boot/image_cache_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>
#include <vector>

#include "sys/unique_fd.h"

namespace goldroot::boot {
namespace {

bool is_blockd_file(const std::string& name) {
  return name.ends_with(".image") || name.ends_with(".map") || name.ends_with(".readset");
}

// "<root>.map" -> "<root>"
std::string root_of(const std::string& name) { return name.substr(0, name.rfind('.')); }

}  // namespace

void drop_other_images(const std::string& cache_dir, const std::string& keep_path,
                       const std::string& keep_root_hash) {
  std::error_code error;
  // The seed for the image booted: the other block cache written last.
  std::string seed_root;
  if (!keep_root_hash.empty()) {
    std::optional<std::filesystem::file_time_type> newest;
    for (const auto& entry : std::filesystem::directory_iterator(cache_dir, error)) {
      std::string name = entry.path().filename().string();
      if (!name.ends_with(".map") || root_of(name) == keep_root_hash) continue;
      auto written = entry.last_write_time(error);
      if (error) continue;
      if (!newest || written > *newest) {
        newest = written;
        seed_root = root_of(name);
      }
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(cache_dir, error)) {
    std::string name = entry.path().filename().string();
    bool image = name.ends_with(".erofs") || name.ends_with(".squashfs") || name.ends_with(".part");
    bool kept_blockd = !keep_root_hash.empty() &&
                       (root_of(name) == keep_root_hash ||
                        (!seed_root.empty() && root_of(name) == seed_root));
    if ((image && entry.path().string() != keep_path) || (is_blockd_file(name) && !kept_blockd))
      std::filesystem::remove(entry.path(), error);
  }
}

Status cache_to_whole_copy(const std::string& cache_dir, const std::string& root_hex,
                           const Digest& sha256, uint64_t size, const std::string& whole_path) {
  const std::string cache = cache_dir + "/" + root_hex;
  const std::string image = cache + ".image";
  UniqueFd fd(::open(image.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return errno_error("opening " + image, errno);
  // The cache's data part is the image; it must be the one the manifest
  // names before it takes the name goldroot-boot trusts.
  Sha256 hasher;
  std::vector<char> buffer(1 << 20);
  for (uint64_t offset = 0; offset < size;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size - offset));
    ssize_t got = ::pread(fd.get(), buffer.data(), want, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return errno_error("reading " + image, got < 0 ? errno : EIO);
    hasher.update(buffer.data(), static_cast<size_t>(got));
    offset += static_cast<uint64_t>(got);
  }
  if (hasher.finish() != sha256)
    return make_error(ErrorCode::kCorruption,
                      image + " does not hold the image the manifest names (sha256 differs)");
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0 || ::fsync(fd.get()) != 0)
    return errno_error("truncating " + image, errno);
  if (::rename(image.c_str(), whole_path.c_str()) != 0) return errno_error("renaming " + image, errno);
  for (const char* suffix : {".map", ".readset"}) ::unlink((cache + suffix).c_str());
  UniqueFd directory(::open(cache_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory.valid()) (void)::fsync(directory.get());
  return ok_status();
}

}  // namespace goldroot::boot

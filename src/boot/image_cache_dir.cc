#include "boot/image_cache_dir.h"

#include <filesystem>
#include <optional>

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

}  // namespace goldroot::boot

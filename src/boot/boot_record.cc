#include "boot/boot_record.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "sys/unique_fd.h"

namespace goldroot::boot {

std::string BootRecord::to_json() const {
  nlohmann::ordered_json json = {
      {"version", 1},
      {"mode", mode},
      {"host", host},
      {"mac", mac},
      {"server", server},
      {"manifest", {{"url", manifest_url}, {"sha256", manifest_sha256},
                    {"source", manifest_source}, {"key_id", key_id}}},
      {"commit", commit},
      {"image", {{"sha256", image_sha256}, {"size", image_size}, {"format", image_format},
                 {"url", image_url}, {"path", image_path}, {"source", image_source},
                 {"resumed_from", resumed_from}, {"downloaded", downloaded},
                 {"loop_device", loop_device}}},
      {"layer", {{"url", layer_url}, {"source", layer_source}, {"entries", layer_entries},
                 {"whiteouts", layer_whiteouts}}},
      {"lower", lower},
      {"middle", middle},
      {"upper", {{"kind", upper_kind}, {"device", upper_device}, {"path", upper_path},
                 {"work", work_path}, {"formatted", upper_formatted},
                 {"discarded", upper_discarded}}},
      {"root", root},
      {"agent", agent},
      {"timings_ms", {{"manifest", manifest_ms}, {"image", image_ms}, {"layer", layer_ms},
                      {"mount", mount_ms}, {"total", total_ms}}},
  };
  return json.dump(2) + "\n";
}

Status write_boot_record(const BootRecord& record, const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
  std::string temporary = path + ".tmp";
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("open " + temporary, errno);
  std::string text = record.to_json();
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return errno_error("write " + temporary, errno);
  if (::fsync(fd.get()) != 0) return errno_error("fsync " + temporary, errno);
  if (::rename(temporary.c_str(), path.c_str()) != 0) return errno_error("rename " + path, errno);
  return ok_status();
}

}  // namespace goldroot::boot

#include "boot/boot_record.h"

#include <nlohmann/json.hpp>

#include "boot/files.h"

namespace goldroot::boot {

std::string BootRecord::to_json() const {
  nlohmann::ordered_json json = {
      {"version", 1},
      {"mode", mode},
      {"host", host},
      {"mac", mac},
      {"server", server},
      {"servers", servers},
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
      {"cache_dir", cache_dir},
      {"site_key", site_key},
      {"agent", agent},
      {"timings_ms", {{"manifest", manifest_ms}, {"image", image_ms}, {"layer", layer_ms},
                      {"mount", mount_ms}, {"total", total_ms}}},
  };
  return json.dump(2) + "\n";
}

Status write_boot_record(const BootRecord& record, const std::string& path) {
  if (size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0)
    TRY(make_directory(path.substr(0, slash)));
  return write_file_atomically(path, record.to_json());
}

}  // namespace goldroot::boot

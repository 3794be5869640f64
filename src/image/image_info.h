// ImageInfo: what listings show of an image ref — its name, commit and the
// commit's summary figures.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/store.h"

namespace goldroot {

struct ImageInfo {
  std::string name;
  Digest commit;
  Commit data;
};

Result<std::vector<ImageInfo>> list_images(const Store& store);
nlohmann::json commit_json(const Digest& id, const Commit& commit);

}  // namespace goldroot

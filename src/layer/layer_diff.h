// How two hosts' effective layers differ (`goldroot layer diff`): paths only
// one has, and for shared paths a different type, content, symlink target,
// mode or owner — each with the layers that supplied the two sides. Reads
// the rendered layers and their source files; changes nothing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "layer/render.h"

namespace goldroot {

struct LayerDifference {
  enum class Change { kOnlyFirst, kOnlySecond, kDiffers };
  Change change;
  std::string path;
  std::string first_layer;        // empty when the path is only in the second
  std::string second_layer;       // empty when the path is only in the first
  std::vector<std::string> what;  // "content", "mode 0644 -> 0600", …
};

Result<std::vector<LayerDifference>> diff_layers(const RenderedLayer& first,
                                                 const RenderedLayer& second);

// "- etc/foo  (labs/lab1)", "~ etc/hostname  content  (hosts/pc1 | hosts/pc2)"
std::string format_difference(const LayerDifference& difference);
nlohmann::json to_json(const LayerDifference& difference);

}  // namespace goldroot

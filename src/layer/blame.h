// Blame: for each path of a host's effective layer, the layer that supplied
// it and the earlier layers it overrode (`goldroot layer blame`). Reads a
// MergedLayer; changes nothing.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "layer/merge.h"

namespace goldroot {

struct BlameLine {
  std::string path;
  NodeKind kind;
  std::string layer;
  std::vector<std::string> overridden;
};

// Without `path`: every non-directory. With it: that path (a directory too)
// and everything below it; a path no layer has is a kNotFound error.
Result<std::vector<BlameLine>> blame(const MergedLayer& merged,
                                     const std::optional<std::string>& path);

// "etc/hostname  hosts/pc1  (overrides labs/lab3, base)"
std::string format_blame(const BlameLine& line);
nlohmann::json to_json(const BlameLine& line);

}  // namespace goldroot

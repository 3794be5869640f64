// The configuration layers that apply to a host, earliest first (a later
// layer wins):
//   base
//   networks/<cidr>   "/" replaced by "_": networks/10.1.0.0_24
//   labs/<lab>
//   hosts/<name>
//   ips/<ip>
// all under SITE/layers. Layers that do not exist are skipped. A layer
// directory may be a symlink (labs/lab4 -> lab3, to share one) only if it
// resolves inside SITE/layers; anything else is refused.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "layer/host_profile.h"

namespace goldroot {

struct LayerRef {
  std::string name;  // "labs/lab3", as blame prints it
  std::string path;  // resolved directory
};

// Every layer name that could apply to the host, existing or not.
std::vector<std::string> candidate_layer_names(const HostProfile& profile);
Result<std::vector<LayerRef>> host_layers(const std::string& layers_dir,
                                          const HostProfile& profile);

}  // namespace goldroot

#include "layer/layer_stack.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>

#include "base/strings.h"

namespace goldroot {

namespace {

Result<std::string> real_path(const std::string& path) {
  char buffer[PATH_MAX];
  if (!::realpath(path.c_str(), buffer)) return errno_error("resolving " + path, errno);
  return std::string(buffer);
}

}  // namespace

std::vector<std::string> candidate_layer_names(const HostProfile& profile) {
  std::vector<std::string> names = {"base"};
  if (profile.network)
    names.push_back("networks/" + parse_cidr(profile.network->cidr)->layer_name());
  if (profile.host.lab) names.push_back("labs/" + *profile.host.lab);
  names.push_back("hosts/" + profile.host.name);
  if (profile.host.ip) names.push_back("ips/" + *profile.host.ip);
  return names;
}

Result<std::vector<LayerRef>> host_layers(const std::string& layers_dir,
                                          const HostProfile& profile) {
  std::vector<LayerRef> layers;
  struct stat st;
  if (::stat(layers_dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return layers;
    return errno_error("reading " + layers_dir, errno);
  }
  std::string root = TRY(real_path(layers_dir));
  for (const std::string& name : candidate_layer_names(profile)) {
    std::string path = layers_dir + "/" + name;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      return errno_error("reading layer " + name, errno);
    }
    std::string resolved = TRY(real_path(path).context("layer " + name));
    if (!starts_with(resolved, root + "/"))
      return make_error(ErrorCode::kPermissionDenied,
                        "layer " + name + " is a symlink that leads outside " + layers_dir +
                            " (to " + resolved + "); refusing it");
    if (::stat(resolved.c_str(), &st) != 0) return errno_error("reading layer " + name, errno);
    if (!S_ISDIR(st.st_mode))
      return make_error(ErrorCode::kInvalidArgument,
                        "layer " + name + " (" + path + ") is not a directory");
    layers.push_back({name, resolved});
  }
  return layers;
}

}  // namespace goldroot

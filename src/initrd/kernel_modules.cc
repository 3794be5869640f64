#include "initrd/kernel_modules.h"

#include <map>
#include <set>

#include "base/strings.h"
#include "image/export.h"
#include "image/tree_builder.h"
#include "store/store.h"

namespace goldroot {

const std::vector<std::string>& goldroot_module_names() {
  // sha256_ssse3 gives dm-verity the CPU's SHA-256 (SSSE3/AVX2/SHA-NI)
  // instead of sha256-generic, which hashes every block read on demand.
  static const std::vector<std::string> names = {
      "loop", "overlay", "crc32c_generic", "erofs",     "squashfs",
      "nbd",  "dm_mod",  "dm_verity",      "sha256_ssse3"};
  return names;
}

std::string module_name(std::string_view path) {
  std::string name(path.substr(path.rfind('/') == std::string_view::npos ? 0 : path.rfind('/') + 1));
  size_t ko = name.find(".ko");
  if (ko != std::string::npos) name.resize(ko);
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

std::vector<std::string> module_load_order(std::string_view modules_dep,
                                           const std::vector<std::string>& wanted) {
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> by_name;
  for (const std::string& line : split(modules_dep, '\n')) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string path(trim(std::string_view(line).substr(0, colon)));
    std::vector<std::string> dependencies;
    for (const std::string& word : split(std::string(trim(std::string_view(line).substr(colon + 1))), ' '))
      if (!word.empty()) dependencies.push_back(word);
    by_name[module_name(path)] = {path, dependencies};
  }
  std::vector<std::string> order;
  std::set<std::string> added;
  auto add = [&](const std::string& path) {
    if (added.insert(path).second) order.push_back(path);
  };
  for (const std::string& name : wanted) {
    auto found = by_name.find(module_name(name));
    if (found == by_name.end()) continue;
    // depmod lists the dependencies of a dependency after it: load from the end.
    const auto& dependencies = found->second.second;
    for (auto it = dependencies.rbegin(); it != dependencies.rend(); ++it) add(*it);
    add(found->second.first);
  }
  return order;
}

Result<std::vector<ImageModule>> image_modules(const Store& store, TreeBuilder& tree,
                                               const std::string& version) {
  std::vector<ImageModule> modules;
  for (const std::string base : {"usr/lib/modules/", "lib/modules/"}) {
    std::string dir = base + version;
    auto dep_file = TRY(resolve_image_file(store, tree, dir + "/modules.dep"));
    if (!dep_file) continue;
    std::string text = TRY(store.objects().read_verified(ObjectType::kFile, dep_file->sha256));
    for (const std::string& path : module_load_order(text, goldroot_module_names())) {
      auto file = TRY(resolve_image_file(store, tree, dir + "/" + path));
      if (!file)
        return make_error(ErrorCode::kCorruption,
                          "the image's modules.dep names " + dir + "/" + path + ", which it lacks");
      modules.push_back({path, file->sha256});
    }
    return modules;
  }
  return modules;
}

}  // namespace goldroot

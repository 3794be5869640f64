#include "layer/blame.h"

#include "base/strings.h"

namespace goldroot {

Result<std::vector<BlameLine>> blame(const MergedLayer& merged,
                                     const std::optional<std::string>& path) {
  std::vector<BlameLine> lines;
  auto add = [&](const std::string& at, const MergedNode& node) {
    lines.push_back({at, node.kind, node.layer, node.overridden});
  };
  if (!path) {
    for (const auto& [at, node] : merged.nodes)
      if (node.kind != NodeKind::kDirectory) add(at, node);
    return lines;
  }
  std::string wanted = TRY(normalize_layer_path(*path));
  if (wanted.empty()) {
    for (const auto& [at, node] : merged.nodes) add(at, node);
    return lines;
  }
  auto found = merged.nodes.find(wanted);
  if (found == merged.nodes.end())
    return make_error(ErrorCode::kNotFound, "no layer of this host has " + wanted);
  add(found->first, found->second);
  std::string prefix = wanted + "/";
  for (auto it = merged.nodes.lower_bound(prefix);
       it != merged.nodes.end() && starts_with(it->first, prefix); ++it)
    add(it->first, it->second);
  return lines;
}

std::string format_blame(const BlameLine& line) {
  std::string text = line.path + (line.kind == NodeKind::kDirectory ? "/" : "");
  if (text.size() < 40) text.resize(40, ' ');
  text += "  ";
  std::string layer = line.layer;
  if (line.kind == NodeKind::kWhiteout)
    layer = "deleted by " + layer;
  else if (line.kind == NodeKind::kTemplate)
    layer += " (template)";
  text += layer;
  if (!line.overridden.empty()) {
    std::vector<std::string> newest_first(line.overridden.rbegin(), line.overridden.rend());
    text += "  (overrides " + join(newest_first, ", ") + ")";
  }
  return text;
}

nlohmann::json to_json(const BlameLine& line) {
  return {
      {"path", line.path},
      {"kind", node_kind_name(line.kind)},
      {"layer", line.layer},
      {"overrides", std::vector<std::string>(line.overridden.rbegin(), line.overridden.rend())}};
}

}  // namespace goldroot

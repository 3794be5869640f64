#include "image/export_patch.h"

#include <unistd.h>

#include <unordered_map>

namespace goldroot {

Result<PatchSummary> write_update_patch(Env* env, const PatchInput& base,
                                        const std::optional<erofs::ErofsLayout>& base_layout,
                                        const PatchInput& image,
                                        const std::optional<erofs::ErofsLayout>& image_layout,
                                        const std::string& path) {
  std::vector<PatchExtent> extents;
  if (base_layout && image_layout) {
    std::unordered_map<std::string_view, const erofs::LayoutRecord*> by_path;
    for (const erofs::LayoutRecord& record : base_layout->records)
      if (record.blocks.count > 0) by_path.emplace(record.path, &record);
    for (const erofs::LayoutRecord& record : image_layout->records) {
      auto old = by_path.find(record.path);
      if (record.blocks.count == 0 || old == by_path.end() || old->second->type != record.type)
        continue;
      extents.push_back({{record.blocks.first, record.blocks.count},
                         {old->second->blocks.first, old->second->blocks.count}});
    }
  }
  MadePatch made = TRY(make_update_patch(base, image, extents, kPatchLevel));
  PatchSummary summary{"", made.bytes.size(), made.target_blocks, made.tree_blocks, made.frames};
  if (made.bytes.empty()) {
    ::unlink(path.c_str());
    return summary;
  }
  TRY(env->write_file_atomic(path, made.bytes));
  summary.path = path;
  return summary;
}

}  // namespace goldroot

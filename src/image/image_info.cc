#include "image/image_info.h"

namespace goldroot {

Result<std::vector<ImageInfo>> list_images(const Store& store) {
  std::vector<ImageInfo> images;
  for (const auto& [name, digest] : TRY(store.refs().list(RefKind::kImage))) {
    Commit commit = TRY(store.objects().read_commit(digest).context("image " + name));
    images.push_back({name, digest, std::move(commit)});
  }
  return images;
}

nlohmann::json commit_json(const Digest& id, const Commit& commit) {
  nlohmann::json parents = nlohmann::json::array();
  for (const Digest& parent : commit.parents) parents.push_back(parent.hex());
  return {{"commit", id.hex()},   {"parents", parents},        {"created", commit.created},
          {"name", commit.name},  {"message", commit.message}, {"size", commit.size},
          {"entries", commit.entries}, {"hardlink_groups", commit.hardlinks.size()}};
}

}  // namespace goldroot

#include "bootserver/artifact_index.h"

#include <sys/stat.h>

#include <cstdio>

#include "base/strings.h"

namespace goldroot {

ArtifactIndex::ArtifactIndex(const Store* store, std::string exports_dir)
    : store_(store), exports_dir_(std::move(exports_dir)) {
  rescan();
}

bool ArtifactIndex::verified(const std::string& path, const Digest& sha256, uint64_t size) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  FileStamp stamp{static_cast<int64_t>(st.st_ino), static_cast<int64_t>(st.st_size),
                  static_cast<int64_t>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec};
  auto found = checked_.find(path);
  if (found != checked_.end() && found->second.stamp == stamp) return found->second.good;
  uint64_t actual_size = 0;
  auto digest = sha256_of_file(path, &actual_size);
  bool good = digest.ok() && *digest == sha256 && actual_size == size;
  if (!good) {
    std::string why = !digest.ok()           ? digest.error().message
                      : actual_size != size ? "it has " + std::to_string(actual_size) +
                                                  " bytes, not " + std::to_string(size)
                                            : "its sha256 is " + digest->hex();
    std::fprintf(stderr,
                 "goldroot serve: not offering %s, which differs from its record (%s); remove it "
                 "and export the image again\n",
                 path.c_str(), why.c_str());
  }
  checked_[path] = Checked{stamp, good};
  return good;
}

void ArtifactIndex::rescan() {
  std::lock_guard rescanning(rescan_mutex_);
  struct stat st;
  if (::stat(exports_dir_.c_str(), &st) != 0) return;
  std::pair<int64_t, int64_t> mtime{st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
  {
    std::lock_guard lock(mutex_);
    if (scanned_mtime_ == mtime) return;
    scanned_mtime_ = mtime;
  }
  std::map<std::string, Artifact> images;
  std::map<std::string, std::string> boot_files;
  std::map<std::string, Tree> trees;
  auto names = store_->env()->list_dir(exports_dir_);
  if (names.ok()) {
    for (const std::string& name : *names) {
      // "<commit>.<format>.json" describes "<commit>.<format>".
      if (!ends_with(name, ".json") || ends_with(name, ".manifest.json")) continue;
      std::vector<std::string> parts = split(name, '.');
      if (parts.size() != 3) continue;
      auto commit = Digest::from_hex(parts[0]);
      auto format = parse_export_format(parts[1]);
      if (!commit || !format.ok()) continue;
      auto artifact = cached_artifact(exports_dir_, *commit, *format);
      if (!artifact.ok() || !*artifact) continue;
      Artifact& a = **artifact;
      if (!verified(a.path, a.sha256, a.size)) continue;
      std::string short_id = a.commit.hex().substr(0, 12);
      if (a.verity && !verified(a.tree_path(), a.tree_sha256, a.tree_size)) {
        struct stat tree_stat;
        if (::stat(a.tree_path().c_str(), &tree_stat) != 0)
          std::fprintf(stderr,
                       "goldroot serve: %s is missing, so hosts fetch image %s in full; 'goldroot "
                       "image export %s' writes it again\n",
                       a.tree_path().c_str(), short_id.c_str(), short_id.c_str());
        a.verity.reset();
      } else if (!a.verity && a.format == ExportFormat::kErofs) {
        std::fprintf(stderr,
                     "goldroot serve: the export of image %s has no dm-verity tree (an older "
                     "goldroot made it), so its hosts fetch it in full; 'goldroot image export "
                     "%s' adds one\n",
                     short_id.c_str(), short_id.c_str());
      }
      if (a.verity) trees[a.sha256.hex()] = Tree{a.tree_path(), a.tree_sha256};
      images[a.sha256.hex() + "." + export_format_name(a.format)] = a;
      for (const auto* file : {&a.kernel, &a.initrd})
        if (*file)
          boot_files[(*file)->sha256.hex()] =
              store_->objects().object_path(ObjectType::kFile, (*file)->sha256);
    }
  }
  std::lock_guard lock(mutex_);
  images_ = std::move(images);
  boot_files_ = std::move(boot_files);
  trees_ = std::move(trees);
}

std::optional<Artifact> ArtifactIndex::image(const std::string& key) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard lock(mutex_);
      if (auto it = images_.find(key); it != images_.end()) return it->second;
    }
    if (attempt == 0) rescan();
  }
  return std::nullopt;
}

std::optional<ArtifactIndex::Tree> ArtifactIndex::verity_tree(const std::string& image_sha256) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard lock(mutex_);
      if (auto it = trees_.find(image_sha256); it != trees_.end()) return it->second;
    }
    if (attempt == 0) rescan();
  }
  return std::nullopt;
}

std::optional<std::string> ArtifactIndex::boot_file(const std::string& digest) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard lock(mutex_);
      if (auto it = boot_files_.find(digest); it != boot_files_.end()) return it->second;
    }
    if (attempt == 0) rescan();
  }
  return std::nullopt;
}

Result<std::optional<Artifact>> ArtifactIndex::for_commit(const Digest& commit,
                                                          ExportFormat format) {
  auto artifact = TRY(cached_artifact(exports_dir_, commit, format));
  if (!artifact) return artifact;
  if (!image(artifact->sha256.hex() + "." + export_format_name(format)))
    return make_error(ErrorCode::kCorruption,
                      "the export of image " + commit.hex().substr(0, 12) +
                          " is damaged (it differs from its record); run 'goldroot image "
                          "export " + commit.hex().substr(0, 12) + "' again after removing it");
  if (artifact->verity && !verity_tree(artifact->sha256.hex())) artifact->verity.reset();
  return artifact;
}

}  // namespace goldroot

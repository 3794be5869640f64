#include "bootserver/artifact_index.h"

#include <sys/stat.h>

#include <cstdio>

#include "base/strings.h"

namespace goldroot {

ArtifactIndex::ArtifactIndex(const Store* store, std::string exports_dir)
    : store_(store), exports_dir_(std::move(exports_dir)) {
  rescan();
}

bool ArtifactIndex::verified(const Artifact& artifact) {
  struct stat st;
  if (::stat(artifact.path.c_str(), &st) != 0) return false;
  FileStamp stamp{static_cast<int64_t>(st.st_ino), static_cast<int64_t>(st.st_size),
                  static_cast<int64_t>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec};
  auto found = checked_.find(artifact.path);
  if (found != checked_.end() && found->second.stamp == stamp) return found->second.good;
  uint64_t size = 0;
  auto digest = sha256_of_file(artifact.path, &size);
  bool good = digest.ok() && *digest == artifact.sha256 && size == artifact.size;
  if (!good) {
    std::string why = !digest.ok()              ? digest.error().message
                      : size != artifact.size ? "it has " + std::to_string(size) + " bytes, not " +
                                                    std::to_string(artifact.size)
                                              : "its sha256 is " + digest->hex();
    std::fprintf(stderr,
                 "goldroot serve: not offering %s, which differs from its record (%s); remove it "
                 "and export the image again\n",
                 artifact.path.c_str(), why.c_str());
  }
  checked_[artifact.path] = Checked{stamp, good};
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
      if (!artifact.ok() || !*artifact || !verified(**artifact)) continue;
      const Artifact& a = **artifact;
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
  return artifact;
}

}  // namespace goldroot

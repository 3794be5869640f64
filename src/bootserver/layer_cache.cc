#include "bootserver/layer_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "base/hash.h"

namespace goldroot {

Result<std::unique_ptr<LayerCache>> LayerCache::create(const std::string& parent) {
  std::string directory = parent + "/goldroot-layers-XXXXXX";
  if (!::mkdtemp(directory.data()))
    return errno_error("creating a layer cache under " + parent, errno);
  return std::unique_ptr<LayerCache>(new LayerCache(std::move(directory)));
}

LayerCache::~LayerCache() {
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

Result<LayerCache::Bundle> LayerCache::get(const std::string& host, const RenderedLayer& layer) {
  Digest wanted = fingerprint(layer);

  std::shared_ptr<Entry> entry;
  std::string path;
  {
    std::lock_guard lock(mutex_);
    auto& slot = entries_[host];
    if (!slot) slot = std::make_shared<Entry>();
    entry = slot;
    path = directory_ + "/" + std::to_string(++serial_) + ".tar";
  }
  std::lock_guard lock(entry->mutex);
  Bundle bundle;
  if (!entry->path.empty() && entry->fingerprint == wanted) {
    path = entry->path;
  } else {
    WriteOptions options;
    options.replace = Replace::kYes;
    options.durability = Durability::kNoSync;  // a cache: rebuilt after a crash
    Status written = write_layer(layer, path, OutputFormat::kTar, options);
    uint64_t size = 0;
    Result<Digest> sha256 = written.ok() ? sha256_of_file(path, &size) : written.error();
    if (!sha256.ok()) {
      ::unlink(path.c_str());
      return std::move(sha256).error();
    }
    entry->sha256 = *sha256;
    if (!entry->path.empty()) ::unlink(entry->path.c_str());  // open readers keep theirs
    entry->path = path;
    entry->fingerprint = wanted;
    bundle.written = true;
  }
  bundle.file = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (!bundle.file.valid() || ::fstat(bundle.file.get(), &st) != 0)
    return errno_error("opening the cached layer of " + host, errno);
  bundle.size = static_cast<uint64_t>(st.st_size);
  bundle.sha256 = entry->sha256;
  return bundle;
}

}  // namespace goldroot

#include "bootserver/layer_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "bootserver/layer_token.h"

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

Result<LayerCache::Bundle> LayerCache::get(const std::string& host, const RenderedLayer& layer,
                                           const std::string& token) {
  Sha256 hash;
  hash.update(fingerprint(layer).hex());
  hash.update(token);
  Digest wanted = hash.finish();

  std::shared_ptr<Entry> entry;
  std::string path;
  {
    std::lock_guard lock(mutex_);
    auto& slot = entries_[host + (token.empty() ? "" : "\n+token")];
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
    if (written.ok() && !token.empty())
      written = append_to_tar(path, kAgentTokenPath, token + "\n", 0600);
    if (!written.ok()) {
      ::unlink(path.c_str());
      return std::move(written).error();
    }
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
  return bundle;
}

}  // namespace goldroot

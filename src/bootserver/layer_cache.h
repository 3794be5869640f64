// LayerCache: hosts' layer bundles (the tar a booting host fetches from
// /layers/<host>.tar), written once per change of what they are made of.
//
// The server still merges a host's layers for every request — a walk of
// stat(2) calls and its templates — but writes the bundle only when that
// merge's fingerprint (layer/render.h) differs from the cached one; a lab
// booting at once, or a client asking again and again, costs one write.
// Requests for one host wait for a single write; other hosts go on.
//
// Bundles are files in a private directory (0700), replaced by rename and
// never changed in place, so a reader holding one keeps a consistent file;
// each is hashed once, when written, for the manifest that names it.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/hash.h"
#include "base/result.h"
#include "layer/render.h"
#include "sys/unique_fd.h"

namespace goldroot {

class LayerCache {
 public:
  // A new, empty cache directory under `parent` (e.g. $TMPDIR), removed
  // with the cache.
  static Result<std::unique_ptr<LayerCache>> create(const std::string& parent);
  ~LayerCache();
  LayerCache(const LayerCache&) = delete;
  LayerCache& operator=(const LayerCache&) = delete;

  struct Bundle {
    UniqueFd file;  // open read-only at offset 0
    uint64_t size = 0;
    Digest sha256;
    bool written = false;  // false: served from the cache
  };
  // The bundle of `host` made of `layer`.
  Result<Bundle> get(const std::string& host, const RenderedLayer& layer);

 private:
  explicit LayerCache(std::string directory) : directory_(std::move(directory)) {}

  struct Entry {
    std::mutex mutex;  // held while the bundle is written
    Digest fingerprint;
    Digest sha256;     // of the file at `path`
    std::string path;  // empty until written
  };

  std::string directory_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  uint64_t serial_ = 0;  // under mutex_
};

}  // namespace goldroot

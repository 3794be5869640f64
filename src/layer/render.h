// Rendering a host's effective layer: merge its layers (merge.h), render its
// templates with its variables, and write the result as a directory, a tar
// archive or an erofs image — the read-only layer the boot code stacks
// between the image and the host's upper layer.
//
// The output is a plain tree that keeps each source's mode, owner and mtime,
// plus overlayfs whiteouts for deletions and trusted.overlay.opaque on
// directories that replace a deleted one. Every template is rendered before
// anything is written, and the output is built beside its destination and
// renamed into place, so a failed render leaves no partial output.
#pragma once

#include <sys/stat.h>

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/hash.h"
#include "fleet/inventory.h"
#include "layer/host_profile.h"
#include "layer/merge.h"

namespace goldroot {

struct RenderedLayer {
  std::vector<LayerRef> layers;
  MergedLayer merged;
  std::map<std::string, std::string> contents;  // rendered templates, by path
};

Result<RenderedLayer> build_rendered_layer(const std::vector<LayerRef>& layers,
                                           const TemplateVariables& variables);

// What a written layer depends on: every node's path, kind, source and
// metadata (inode, size, mode, owner, mtime and ctime, so an edit in place
// shows) and every rendered template's text. Equal fingerprints write equal
// layers; the boot server renders a host's bundle again only when its
// fingerprint changes.
Digest fingerprint(const RenderedLayer& layer);

enum class OutputFormat { kDirectory, kTar, kErofs };
// By suffix: .tar → tar, .erofs → erofs, anything else a directory.
OutputFormat output_format_for(const std::string& output);

enum class Replace { kNo, kYes };  // may an existing output be replaced?
enum class Durability { kSync, kNoSync };

// Layer files' bytes, read once for many renders (`layer render --all`, where
// every host shares most of the layer tree). Files up to 64 KiB are kept; a
// file whose inode, size or mtime is not what the merge saw is read again.
// Not thread-safe.
class SourceCache {
 public:
  static constexpr off_t kLargest = 1 << 16;
  // The bytes of `node` (a kFile of at most kLargest bytes).
  Result<const std::string*> contents(const MergedNode& node);

 private:
  struct Cached {
    ino_t inode;
    off_t size;
    struct timespec mtime;
    std::string data;
  };
  std::unordered_map<std::string, Cached> files_;  // by source path
};

struct WriteOptions {
  Replace replace = Replace::kNo;
  Durability durability = Durability::kSync;
  SourceCache* sources = nullptr;  // optional; see SourceCache
};

Status write_layer(const RenderedLayer& layer, const std::string& output, OutputFormat format,
                   const WriteOptions& options);

// For the boot server and `goldroot layer render`: everything from the
// inventory and SITE/layers to a written output. The caller holds the site
// lock (shared is enough) and the inventory's read transaction if it wants
// one snapshot.
Result<RenderedLayer> render_host_layer(Inventory& inventory, const std::string& layers_dir,
                                        const std::string& host);
Status render_host_layer_to(Inventory& inventory, const std::string& layers_dir,
                            const std::string& host, const std::string& output, OutputFormat format,
                            const WriteOptions& options);

}  // namespace goldroot

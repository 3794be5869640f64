// MergedLayer: the union of a host's layers (layer_stack.h), path by path,
// with provenance — which layer supplied each path and which earlier layers
// it overrode. This is what render writes, blame prints and diff compares.
//
// Rules, in layer order:
//   - a file, symlink or directory replaces whatever an earlier layer had at
//     that path (a non-directory also hides everything below it);
//   - directories merge, and take the mode/owner of the last layer that has
//     them;
//   - `NAME.goldroot-delete` (any content, usually empty) deletes NAME and
//     everything below it from earlier layers and from the image: the render
//     carries an overlayfs whiteout there. An overlayfs whiteout (a 0/0
//     character device) in a layer means the same;
//   - a directory that replaces a deletion is opaque: it hides the image's
//     directory of that name (overlayfs trusted.overlay.opaque). Markers
//     apply before the rest of their layer, so `skel.goldroot-delete` next to
//     `skel/` in one layer replaces the whole directory;
//   - `NAME.tmpl` is a template (template.h) that renders to NAME; a layer
//     may not hold both NAME and NAME.tmpl.
// Safety: symlinks are never followed while reading layers; a template must
// be a regular file; a relative symlink whose target climbs out of the layer
// through ".." is refused.
#pragma once

#include <sys/stat.h>

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "layer/layer_stack.h"

namespace goldroot {

inline constexpr const char* kDeleteSuffix = ".goldroot-delete";
inline constexpr const char* kTemplateSuffix = ".tmpl";

enum class NodeKind { kFile, kTemplate, kSymlink, kDirectory, kWhiteout, kSpecial };
const char* node_kind_name(NodeKind kind);

struct MergedNode {
  NodeKind kind = NodeKind::kFile;
  std::string layer;                    // the layer that supplied it
  std::vector<std::string> overridden;  // earlier layers that had this path
  std::string source;                   // its file in that layer
  struct stat st {};                    // the source's metadata
  std::string link_target;              // symlinks
  bool opaque = false;                  // directories
};

struct MergedLayer {
  // Relative paths without a leading '/', "etc/hostname"; sorted, so a
  // directory comes before its contents.
  std::map<std::string, MergedNode> nodes;
};

Result<MergedLayer> merge_layers(const std::vector<LayerRef>& layers);

// Rejects absolute paths' "..", empty components and the like in a path
// given by a user ("etc/../../x"); returns it without leading/trailing '/'.
Result<std::string> normalize_layer_path(const std::string& path);

}  // namespace goldroot

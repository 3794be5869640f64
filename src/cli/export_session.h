// Exporting a commit from the CLI as clients boot it: the cached or new
// artifact in SITE/exports and, when the image has a kernel and an initrd,
// its signed boot manifest beside it. Shared by `image export` and
// `capture --host`, which exports what it captured.
#pragma once

#include <optional>
#include <string>

#include "image/export.h"
#include "site/site.h"

namespace goldroot::cli {

struct ExportedImage {
  Artifact artifact;
  std::optional<std::string> manifest;  // the signed manifest text
  std::string unbootable;               // why there is none
};

// An erofs image is laid out on `base` when given (see export_commit).
Result<ExportedImage> export_image(Site& site, const Digest& commit, ExportFormat format,
                                   ErofsBuilder builder = ErofsBuilder::kNative,
                                   std::optional<Digest> base = std::nullopt,
                                   UpdatePatch patch = UpdatePatch::kWrite);

}  // namespace goldroot::cli

// The three output writers behind write_layer (render.h). Each writes the
// complete output at `temporary`; write_layer renames it into place.
#pragma once

#include <string>

#include "layer/render.h"

namespace goldroot {

// `sources` (may be null) serves small layer files' bytes (render.h).
Status write_layer_directory(const RenderedLayer& layer, const std::string& temporary,
                             SourceCache* sources = nullptr);
Status write_layer_tar(const RenderedLayer& layer, const std::string& temporary,
                       SourceCache* sources = nullptr);
// Builds an erofs image with mkfs.erofs from a directory rendered at
// `scratch_dir`, which it removes.
Status write_layer_erofs(const RenderedLayer& layer, const std::string& temporary,
                         const std::string& scratch_dir);

}  // namespace goldroot

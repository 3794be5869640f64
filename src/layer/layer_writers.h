// The three output writers behind write_layer (render.h). Each writes the
// complete output at `temporary`; write_layer renames it into place.
#pragma once

#include <string>

#include "layer/render.h"

namespace goldroot {

Status write_layer_directory(const RenderedLayer& layer, const std::string& temporary);
Status write_layer_tar(const RenderedLayer& layer, const std::string& temporary);
// Builds an erofs image with mkfs.erofs from a directory rendered at
// `scratch_dir`, which it removes.
Status write_layer_erofs(const RenderedLayer& layer, const std::string& temporary,
                         const std::string& scratch_dir);

}  // namespace goldroot

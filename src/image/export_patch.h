// The update patch an export with a base writes beside itself
// (`<image>.patch-<base root>`, verity/update_patch.h): the blocks of the
// new image and tree that a client holding the base cannot seed by hash,
// compressed against the base's blocks they most likely resemble: a file's
// new data against the base's data of the file at that path (both layouts
// say where), any block against the base's block at its place (the stable
// layout keeps inodes and directories where they were), a hash block
// against the base's at its level and index.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"
#include "image/erofs_layout.h"
#include "sys/env.h"
#include "verity/update_patch.h"

namespace goldroot {

struct PatchSummary {
  std::string path;            // where it was written ("" when none was)
  uint64_t bytes = 0;          // the patch file; 0: none (the client needs no block)
  uint64_t target_blocks = 0;  // blocks it makes (data and hash)
  uint64_t tree_blocks = 0;    // ... of which hash blocks
  uint64_t frames = 0;
};

// zstd's level for patches: the server compresses once, every client
// fetches the result.
constexpr int kPatchLevel = 19;

// Writes the patch from `base` to `image` at `path` (atomically), or
// removes `path` when the client would need no block. The layouts, when
// both are there, pair each file's new data with its old.
Result<PatchSummary> write_update_patch(Env* env, const PatchInput& base,
                                        const std::optional<erofs::ErofsLayout>& base_layout,
                                        const PatchInput& image,
                                        const std::optional<erofs::ErofsLayout>& image_layout,
                                        const std::string& path);

}  // namespace goldroot

// The kernel modules goldroot-boot needs (loop, overlay, erofs, squashfs),
// taken from the image's own kernel: Debian's initrd leaves erofs, overlay
// and squashfs out, and only the image's modules match the image's kernel.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
#include "base/result.h"

namespace goldroot {

class Store;
class TreeBuilder;

// What goldroot-boot mounts with. crc32c_generic backs libcrc32c (erofs);
// nbd, dm_mod and dm_verity serve an image on demand (blockd/).
const std::vector<std::string>& goldroot_module_names();

// The name modprobe knows a module file by: "kernel/fs/erofs/erofs.ko.xz"
// -> "erofs"; '-' and '_' are the same ("crc32c-intel" -> "crc32c_intel").
std::string module_name(std::string_view path);

// Reads modules.dep (depmod's "path: dep dep…" lines) and returns the
// files to load, dependencies first, each once, for the modules named in
// `wanted`. Names that are not modules (built into the kernel) are skipped.
std::vector<std::string> module_load_order(std::string_view modules_dep,
                                           const std::vector<std::string>& wanted);

struct ImageModule {
  std::string path;  // relative to the modules directory, "kernel/fs/erofs/erofs.ko"
  Digest digest;     // the store object
};

// The image's modules for kernel `version` in load order, from
// /usr/lib/modules/VERSION or /lib/modules/VERSION. Empty when the image
// has no modules directory for that kernel (a kernel with everything
// built in).
Result<std::vector<ImageModule>> image_modules(const Store& store, TreeBuilder& tree,
                                               const std::string& version);

}  // namespace goldroot

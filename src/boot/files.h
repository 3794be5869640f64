// Small file helpers for goldroot-boot, which links neither sys/ nor the
// store (it travels in the initrd): whole-file reads, atomic replacement,
// mkdir -p, and emptying a directory.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "base/result.h"

namespace goldroot::boot {

Result<std::string> read_whole_file(const std::string& path);
// Writes a temporary beside `path`, fsyncs it and renames it over `path`.
Status write_file_atomically(const std::string& path, const std::string& text);
// Creates `path` and its parents; with `mode`, also sets it (whatever the
// umask, and on a directory that already existed).
Status make_directory(const std::string& path, std::optional<mode_t> mode = std::nullopt);
// Removes everything inside `path` (never following symlinks) but the
// entry named `keep`, if given; `path` itself stays.
Status empty_directory(const std::string& path, const std::string& keep = "");

}  // namespace goldroot::boot

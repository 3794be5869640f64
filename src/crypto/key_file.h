// How the site's key files are written and read (site_key.h, tls_identity.h).
//
// Files are written directly, not through Env: Env creates files 0644, and
// a private key must not be readable by others even for an instant. A file
// is written to a temporary name created with its final mode, fsynced, then
// hard-linked into place (link(2) fails if the name exists, so two racing
// writers keep one key), and the directory fsynced.
// Functions only; thread-safe as far as the filesystem is.
#pragma once

#include <string>
#include <sys/types.h>

#include "base/result.h"

namespace goldroot {

// Writes `contents` to `path` with `mode` unless `path` exists; returns
// kAlreadyExists if it did (the existing file is kept).
Status write_new_file(const std::string& path, const std::string& contents, mode_t mode);
// A key or certificate file, whole.
Result<std::string> read_small_file(const std::string& path);

}  // namespace goldroot

// Reading a whole range of a file at an offset, retried over short reads and
// EINTR: what the block caches, seed indexes and patch makers read with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/result.h"

namespace goldroot {

// Fills out[0, length) with the bytes at `offset` of `fd`; `what` names the
// file in the error ("reading WHAT: …", or kCorruption when it ends first).
Status pread_exact(int fd, void* out, size_t length, uint64_t offset, const std::string& what);

}  // namespace goldroot

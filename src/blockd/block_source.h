// BlockSource: the bytes a network block device presents, whatever backs
// them (a verifying HTTP fetcher with a local cache, or a plain file in
// tests). The NBD server (blockd/nbd_server.h) turns the kernel's read
// requests into calls of read(); an error becomes EIO for that request
// only.
//
// Implementations are thread-safe: the server calls read() from several
// threads at once.
#pragma once

#include <cstdint>

#include "base/result.h"

namespace goldroot {

class BlockSource {
 public:
  virtual ~BlockSource() = default;
  // The device size in bytes, a multiple of 4096.
  virtual uint64_t size() const = 0;
  // Fills out[0, length) with the bytes at `offset`. Blocks (retrying) while
  // the bytes are unreachable; fails only for bytes that are wrong (a
  // Corruption error: the block did not match its hash) or out of range.
  virtual Status read(uint64_t offset, uint32_t length, char* out) = 0;
};

}  // namespace goldroot

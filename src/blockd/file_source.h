// FileBlockSource: a BlockSource over files laid end to end — an image
// followed by its dm-verity tree, the device layout of blockd (data, then
// the tree at hash_start_block = data_blocks). goldroot-blockd serves it in
// its test mode and the vm test tier uses it; nothing is fetched or
// verified here (the kernel's dm-verity checks every block above it).
//
// Immutable after open(); read() is thread-safe (pread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "blockd/block_source.h"
#include "sys/unique_fd.h"

namespace goldroot::blockd {

class FileBlockSource : public BlockSource {
 public:
  // Opens `paths` read-only; each file's size must be a multiple of 4096.
  static Result<FileBlockSource> open(const std::vector<std::string>& paths);

  uint64_t size() const override { return size_; }
  Status read(uint64_t offset, uint32_t length, char* out) override;

 private:
  struct Part {
    std::string path;
    UniqueFd fd;
    uint64_t start = 0;  // device offset of the file's first byte
    uint64_t size = 0;
  };
  FileBlockSource() = default;

  std::vector<Part> parts_;
  uint64_t size_ = 0;
};

}  // namespace goldroot::blockd

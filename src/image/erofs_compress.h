// LZ4HC compression of one file into EROFS physical clusters of one block,
// the way mkfs.erofs -zlz4hc lays them out: each extent is as much input as
// fits into 4 KiB once compressed (LZ4_compress_HC_destSize), stored at the
// end of its block after zeros; where compression cannot save a block the
// extent is stored raw ("plain"). The lcluster index array that maps
// logical 4 KiB clusters onto these extents is built once the blocks have an
// address.
//
// A Compressor owns one LZ4HC state; use one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace goldroot::erofs {

// The kernel refuses extents that decompress past 12 MiB; LZ4's ratio tops
// out near 255:1, and bounding the input keeps each HC search window small.
constexpr size_t kMaxExtentInput = 1u << 20;

struct Extent {
  uint64_t start = 0;   // logical offset of the first byte
  uint32_t length = 0;  // decompressed bytes
  bool raw = false;     // stored uncompressed
};

struct CompressedFile {
  std::vector<Extent> extents;  // extent i lives in block i of `blocks`
  std::string blocks;
};

class Compressor {
 public:
  explicit Compressor(int level);
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  // Whether compression saved at least one block; when it did not, the
  // file should be stored flat (as mkfs.erofs does).
  bool compress(std::string_view data, CompressedFile* out);

  // One extent starting at file offset `start`, whose bytes begin `rest`:
  // `rest` must run to the end of the file or hold at least
  // kMaxExtentInput bytes. Fills the 4 KiB `block`.
  Extent compress_extent(std::string_view rest, uint64_t start, char* block);

 private:
  int level_;
  std::unique_ptr<char[]> state_;
};

// The inode's compression metadata that follows its xattrs (8-aligned): the
// map header, 8 reserved bytes and one full lcluster index per logical
// cluster. `first_block` is the block address of extent 0.
std::string build_lcluster_indexes(const std::vector<Extent>& extents, uint64_t size,
                                   uint32_t first_block);

// Bytes of that metadata for a file of `size` bytes.
inline uint64_t lcluster_metadata_size(uint64_t size) { return 16 + ((size + 4095) / 4096) * 8; }

}  // namespace goldroot::erofs

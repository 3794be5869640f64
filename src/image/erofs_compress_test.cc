// The EROFS cluster compressor and its lcluster index array, checked
// against the on-disk rules the kernel's fs/erofs/zmap.c reads them by.
#include "image/erofs_compress.h"

#include <lz4.h>

#include <random>

#include "base/testing/testing.h"
#include "image/erofs_format.h"

namespace goldroot::erofs {
namespace {

struct Index {
  uint16_t advise, clusterofs;
  uint32_t word;
};

Index index_at(const std::string& metadata, size_t cluster) {
  const auto* at = reinterpret_cast<const unsigned char*>(metadata.data()) + kLegacyHeaderSize +
                   cluster * kLclusterIndexSize;
  return {
      static_cast<uint16_t>(at[0] | at[1] << 8), static_cast<uint16_t>(at[2] | at[3] << 8),
      static_cast<uint32_t>(at[4] | at[5] << 8 | at[6] << 16 | static_cast<uint32_t>(at[7]) << 24)};
}

TEST(ErofsCompress, IndexesPointEveryClusterAtItsExtent) {
  // One compressed extent over 2.4 clusters, then two raw ones.
  std::vector<Extent> extents = {{0, 10000, false}, {10000, 4096, true}, {14096, 1000, true}};
  std::string metadata = build_lcluster_indexes(extents, 15096, 100);
  ASSERT_EQ(metadata.size(), 16u + 4 * 8);
  Index head = index_at(metadata, 0), inside = index_at(metadata, 1);
  Index second = index_at(metadata, 2), third = index_at(metadata, 3);
  EXPECT_EQ(head.advise, kLclusterHead1);
  EXPECT_EQ(head.clusterofs, 0);
  EXPECT_EQ(head.word, 100u);
  EXPECT_EQ(inside.advise, kLclusterNonHead);
  EXPECT_EQ(inside.word, 1u | (1u << 16));  // one back to the head, one on to the next
  EXPECT_EQ(second.advise, kLclusterPlain);
  EXPECT_EQ(second.clusterofs, 10000 - 8192);
  EXPECT_EQ(second.word, 101u);
  EXPECT_EQ(third.advise, kLclusterPlain);
  EXPECT_EQ(third.clusterofs, 14096 - 12288);
  EXPECT_EQ(third.word, 102u);
}

TEST(ErofsCompress, AFileEndingInsideALaterClusterGetsAFinalIndex) {
  std::string metadata = build_lcluster_indexes({{0, 9000, false}}, 9000, 7);
  Index last = index_at(metadata, 2);
  EXPECT_EQ(last.advise, kLclusterPlain);
  EXPECT_EQ(last.clusterofs, 9000 - 8192);
  EXPECT_EQ(index_at(metadata, 1).word, 1u | (1u << 16));
}

TEST(ErofsCompress, BlocksDecompressBackToTheFile) {
  std::string data;
  for (int i = 0; data.size() < 3'000'000; ++i) data += "entry " + std::to_string(i % 5000) + "\n";
  data += std::string(2'500'000, '\0') + "end";
  Compressor compressor(9);
  CompressedFile out;
  ASSERT_TRUE(compressor.compress(data, &out));
  ASSERT_EQ(out.blocks.size(), out.extents.size() * kBlockSize);
  EXPECT_LT(out.blocks.size(), data.size() / 4);
  uint64_t expected_start = 0;
  std::string decoded;
  for (size_t i = 0; i < out.extents.size(); ++i) {
    const Extent& extent = out.extents[i];
    EXPECT_EQ(extent.start, expected_start);
    EXPECT_LE(extent.length, 1u << 20);
    std::string_view block(out.blocks.data() + i * kBlockSize, kBlockSize);
    if (extent.raw) {
      decoded.append(block.substr(0, extent.length));
    } else {
      size_t padding = block.find_first_not_of('\0');  // zero padding before LZ4 data
      ASSERT_NE(padding, std::string_view::npos);
      std::string piece(extent.length, '\0');
      int n = LZ4_decompress_safe(block.data() + padding, piece.data(),
                                  static_cast<int>(kBlockSize - padding),
                                  static_cast<int>(extent.length));
      ASSERT_EQ(n, static_cast<int>(extent.length));
      decoded += piece;
    }
    expected_start += extent.length;
  }
  EXPECT_EQ(decoded, data);
}

TEST(ErofsCompress, IncompressibleDataIsLeftFlat) {
  std::mt19937 generator(3);
  std::string data(200000, '\0');
  for (char& c : data) c = static_cast<char>(generator());
  Compressor compressor(9);
  CompressedFile out;
  EXPECT_FALSE(compressor.compress(data, &out));
}

}  // namespace
}  // namespace goldroot::erofs

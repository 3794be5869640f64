// The layout sidecar's format and the allocators that keep an erofs layout
// put, without images or mounts.
#include "image/erofs_layout.h"

#include "base/testing/testing.h"

namespace goldroot::erofs {
namespace {

template <class T>
T get(Result<T> result) {
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
  return result.ok() ? std::move(result).value() : T{};
}

ErofsLayout sample_layout() {
  ErofsLayout layout;
  layout.encoding = "lz4hc:9";
  layout.meta_blkaddr = 40;
  layout.total_blocks = 50;
  layout.meta_blocks = {{40, 2}, {45, 1}};
  LayoutRecord root;
  root.type = FileType::kDirectory;
  root.meta_offset = 32;
  root.meta_bytes = 120;
  root.ino = 1;
  LayoutRecord file;
  file.path = "usr/bin/odd\nname";
  file.digest = Sha256::of("content");
  file.size = 9000;
  file.xattr_bytes = 28;
  file.meta_offset = 160;
  file.meta_bytes = 64;
  file.blocks = {3, 2};
  file.ino = 7;
  layout.records = {root, file};
  return layout;
}

TEST(ErofsLayoutTest, RoundTrips) {
  ErofsLayout layout = sample_layout();
  ASSERT_OK_AND_ASSIGN(ErofsLayout parsed, ErofsLayout::parse(layout.serialize()));
  EXPECT_EQ(parsed.encoding, "lz4hc:9");
  EXPECT_EQ(parsed.meta_blkaddr, 40u);
  EXPECT_EQ(parsed.total_blocks, 50u);
  ASSERT_EQ(parsed.meta_blocks.size(), 2u);
  EXPECT_EQ(parsed.meta_blocks[1], (BlockRange{45, 1}));
  ASSERT_EQ(parsed.records.size(), 2u);
  EXPECT_EQ(parsed.records[1].path, "usr/bin/odd\nname");
  EXPECT_EQ(parsed.records[1].digest, Sha256::of("content"));
  EXPECT_EQ(parsed.records[1].size, 9000u);
  EXPECT_EQ(parsed.records[1].xattr_bytes, 28u);
  EXPECT_EQ(parsed.records[1].meta_offset, 160u);
  EXPECT_EQ(parsed.records[1].blocks, (BlockRange{3, 2}));
  EXPECT_EQ(parsed.records[1].ino, 7u);
  EXPECT_EQ(parsed.records[0].type, FileType::kDirectory);
}

TEST(ErofsLayoutTest, DamageIsRefusedWithOneSentence) {
  std::string data = sample_layout().serialize();
  for (size_t at : {size_t{0}, size_t{30}, data.size() / 2, data.size() - 1}) {
    std::string damaged = data;
    damaged[at] ^= 0x40;
    auto parsed = ErofsLayout::parse(damaged);
    ASSERT_FALSE(parsed.ok()) << at;
    EXPECT_EQ(parsed.error().code, ErrorCode::kCorruption);
    EXPECT_NE(parsed.error().message.find("layout is damaged"), std::string::npos);
  }
  EXPECT_FALSE(ErofsLayout::parse(data.substr(0, data.size() - 5)).ok());
  EXPECT_FALSE(ErofsLayout::parse("").ok());
}

TEST(BlockAllocatorTest, AppendsWhenThereAreNoHoles) {
  BlockAllocator blocks(1);
  EXPECT_EQ(get(blocks.allocate(3)), 1u);
  EXPECT_EQ(get(blocks.allocate(2)), 4u);
  EXPECT_EQ(blocks.end(), 6u);
}

TEST(BlockAllocatorTest, FirstFitInHolesThenAppend) {
  BlockAllocator blocks(100);
  blocks.release({10, 4});
  blocks.release({20, 8});
  blocks.release({14, 2});  // merges with 10..14: a hole of 6
  EXPECT_EQ(blocks.free_blocks(), 14u);
  EXPECT_EQ(get(blocks.allocate(7)), 20u);  // 10..16 is too small
  EXPECT_EQ(get(blocks.allocate(5)), 10u);
  EXPECT_EQ(get(blocks.allocate(1)), 15u);
  EXPECT_EQ(get(blocks.allocate(1)), 27u);
  EXPECT_EQ(get(blocks.allocate(1)), 100u);  // no holes left
  EXPECT_EQ(blocks.free_blocks(), 0u);
}

TEST(BlockAllocatorTest, MinimumKeepsInodesPastTheMetadataAddress) {
  BlockAllocator blocks(100);
  blocks.release({5, 10});
  blocks.release({50, 3});
  EXPECT_EQ(get(blocks.allocate(2, 40)), 50u);
  EXPECT_EQ(get(blocks.allocate(2, 40)), 100u);
  EXPECT_EQ(get(blocks.allocate(2, 8)), 8u);  // splits the hole 5..15
  EXPECT_EQ(blocks.free_blocks(), 3u + 5u + 1u);
}

TEST(BlockAllocatorTest, ReserveTakesOnlyFreeBlocks) {
  BlockAllocator blocks(100);
  blocks.release({1, 99});
  EXPECT_TRUE(blocks.reserve({10, 5}));
  EXPECT_FALSE(blocks.reserve({12, 5}));  // overlaps what is taken
  EXPECT_FALSE(blocks.reserve({99, 2}));  // past the end
  EXPECT_TRUE(blocks.reserve({15, 1}));
  EXPECT_EQ(get(blocks.allocate(10)), 16u);  // the hole 1..10 holds only 9
}

TEST(BlockAllocatorTest, TrimGivesBackTheEndAndAppendsReuseIt) {
  BlockAllocator blocks(100);
  blocks.release({90, 10});
  EXPECT_EQ(get(blocks.allocate(15)), 90u);  // the trailing hole grows into an append
  EXPECT_EQ(blocks.end(), 105u);
  blocks.release({100, 5});
  blocks.release({95, 5});
  EXPECT_EQ(blocks.trim(), 95u);
}

TEST(MetadataAllocatorTest, ClaimsKeepSlotsAndInodesNeverCrossABlock) {
  BlockAllocator blocks(20);
  MetadataAllocator meta(10, &blocks);
  for (uint32_t block : {10, 11, 12}) meta.add_block(block);
  EXPECT_TRUE(meta.claim(0, 32));
  EXPECT_TRUE(meta.claim(64, 100));      // slots 2..5
  EXPECT_FALSE(meta.claim(160, 10));     // slot 5 is taken
  EXPECT_FALSE(meta.claim(4064, 64));    // would cross into block 11
  EXPECT_FALSE(meta.claim(3 * 4096, 64));  // block 13 holds no inodes
  EXPECT_TRUE(meta.claim(4096, 5000));   // a large inode starts a block...
  EXPECT_FALSE(meta.claim(192, 5000));   // ... and only there
  // Best fit among the gaps: 32 bytes at 32, 3904 at 192, 3168 at 9120.
  EXPECT_EQ(get(meta.allocate(20)), 32u);
  EXPECT_EQ(get(meta.allocate(3000)), 9120u);
  EXPECT_EQ(get(meta.allocate(2000)), 192u);
  // No gap holds 3000 bytes now: a new block past the metadata address.
  ASSERT_OK_AND_ASSIGN(uint64_t offset, meta.allocate(3000));
  EXPECT_EQ(offset, (20u - 10u) * 4096u);
  ASSERT_EQ(meta.blocks().size(), 2u);
  EXPECT_EQ(meta.blocks()[0], (BlockRange{10, 3}));
  EXPECT_EQ(meta.blocks()[1], (BlockRange{20, 1}));
}

TEST(MetadataAllocatorTest, OnlyChangedBlocksTakeNewInodes) {
  BlockAllocator blocks(20);
  MetadataAllocator meta(10, &blocks);
  for (uint32_t block : {10, 11, 12}) meta.add_block(block);
  EXPECT_TRUE(meta.claim(0, 2048));
  EXPECT_TRUE(meta.claim(4096, 2048));
  EXPECT_TRUE(meta.claim(8192, 2048));
  meta.fill_changed_blocks_only();
  meta.mark_changed(4096 + 100, 10);  // block 11
  EXPECT_EQ(get(meta.allocate(1000)), 4096u + 2048u);
  EXPECT_EQ(get(meta.allocate(1000)), 4096u + 3072u);
  // Blocks 10 and 12 have room but stay as they were.
  EXPECT_EQ(get(meta.allocate(1000)), (20u - 10u) * 4096u);
}

TEST(MetadataAllocatorTest, ALimitKeepsTheRootInReach) {
  BlockAllocator blocks(10);
  MetadataAllocator meta(1, &blocks);
  for (uint32_t block = 1; block < 10; ++block) meta.add_block(block);
  EXPECT_TRUE(meta.claim(0, 4096));
  ASSERT_OK_AND_ASSIGN(uint64_t offset, meta.allocate(100, 8192));
  EXPECT_LT(offset + 100, 8192u);
  EXPECT_FALSE(meta.allocate(5000, 8192).ok());
}

}  // namespace
}  // namespace goldroot::erofs

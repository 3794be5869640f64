#include "verity/update_patch.h"

#include "base/testing/testing.h"

namespace goldroot {
namespace {

using testing::random_bytes;

Digest digest_of(char c) {
  Digest d;
  d.bytes.fill(static_cast<uint8_t>(c));
  return d;
}

PatchHeader sample_header() {
  PatchHeader header;
  header.old_root = digest_of('o');
  header.new_root = digest_of('n');
  header.old_data_blocks = 100;
  header.new_data_blocks = 110;
  header.frames.push_back({0, 40, {{110, 2}}, {{100, 2}}});
  header.frames.push_back({0, 50, {{3, 4}, {90, 1}}, {{3, 4}, {50, 10}}});
  uint64_t at = serialize_patch_header(header).size();
  for (PatchFrame& frame : header.frames) {
    frame.offset = at;
    at += frame.compressed_size;
  }
  return header;
}

TEST(UpdatePatch, HeaderRoundTripsAndItsSizeIsInTheHead) {
  PatchHeader header = sample_header();
  std::string bytes = serialize_patch_header(header);
  auto size = patch_header_size(bytes.substr(0, PatchHeader::kHeadSize));
  ASSERT_TRUE(size.ok());
  ASSERT_EQ(*size, bytes.size());
  auto parsed = parse_patch_header(bytes, header.old_root, 103, header.new_root, 113);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, header);
}

TEST(UpdatePatch, AHeaderForOtherImagesOrOutsideThemIsRefused) {
  PatchHeader header = sample_header();
  std::string bytes = serialize_patch_header(header);
  // Another old image, another new one.
  EXPECT_FALSE(parse_patch_header(bytes, digest_of('x'), 103, header.new_root, 113).ok());
  EXPECT_FALSE(parse_patch_header(bytes, header.old_root, 103, digest_of('x'), 113).ok());
  // A target past the new device's end (a smaller device than the patch says).
  auto small = parse_patch_header(bytes, header.old_root, 103, header.new_root, 111);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message.find("outside its image"), std::string::npos);
  // Cut short, at every length.
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(parse_patch_header(bytes.substr(0, n), header.old_root, 103, header.new_root, 113).ok())
        << n;
  // A frame that says it is larger than a frame may be.
  PatchHeader big = header;
  big.frames[0].targets = {{0, static_cast<uint32_t>(PatchHeader::kMaxFrameBlocks + 1)}};
  std::string big_bytes = serialize_patch_header(big);
  EXPECT_FALSE(parse_patch_header(big_bytes, header.old_root, 1 << 20, header.new_root, 1 << 20).ok());
  // A frame that makes nothing.
  PatchHeader empty = header;
  empty.frames[1].targets.clear();
  EXPECT_FALSE(parse_patch_header(serialize_patch_header(empty), header.old_root, 103, header.new_root, 113).ok());
  // Not a patch at all.
  EXPECT_FALSE(patch_header_size(std::string(64, 'x')).ok());
}

TEST(UpdatePatch, AFrameAgainstItsReferenceCostsWhatChanged) {
  std::string old_blocks = random_bytes(1 << 20, 7);
  std::string new_blocks = old_blocks;
  for (size_t i = 0; i < new_blocks.size(); i += 65536) new_blocks[i] ^= 0x5a;  // 16 bytes change
  auto compressed = compress_patch_frame(new_blocks, old_blocks, 19);
  ASSERT_TRUE(compressed.ok()) << compressed.error().message;
  EXPECT_LT(compressed->size(), 4096u);  // random data: without the reference it would be 1 MiB
  std::string out(new_blocks.size(), '\0');
  ASSERT_TRUE(decompress_patch_frame(*compressed, old_blocks, out.data(), out.size()).ok());
  EXPECT_EQ(out, new_blocks);
  // Another reference (a damaged old block) makes other bytes, or fails:
  // never the new blocks.
  std::string damaged = old_blocks;
  damaged[4096] ^= 1;
  Status wrong = decompress_patch_frame(*compressed, damaged, out.data(), out.size());
  EXPECT_TRUE(!wrong.ok() || out != new_blocks);
  // Garbage and a wrong size are one sentence.
  EXPECT_FALSE(decompress_patch_frame("garbage", old_blocks, out.data(), out.size()).ok());
  EXPECT_FALSE(decompress_patch_frame(*compressed, old_blocks, out.data(), out.size() - 1).ok());
}

}  // namespace
}  // namespace goldroot

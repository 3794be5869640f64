#include "blockd/block_cache.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "base/testing/testing.h"
#include "blockd/read_set.h"

namespace goldroot::blockd {
namespace {

VerityParams params_for(uint64_t data_blocks, char root_byte = 1) {
  VerityParams params;
  params.data_blocks = data_blocks;
  params.salt = "salt";
  params.root_hash.bytes.fill(static_cast<uint8_t>(root_byte));
  return params;
}

uint64_t tree_size_for(uint64_t data_blocks) { return VerityGeometry(data_blocks, 4096).tree_size(); }

std::string block_of(char fill, uint64_t count = 1) { return std::string(count * kBlockSize, fill); }

TEST(BlockCacheTest, StoresAndReadsBlocksAndCountsThem) {
  goldroot::testing::TempDir temp;
  VerityParams params = params_for(1000);
  ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_disk(temp.path(), params, tree_size_for(1000)));
  EXPECT_EQ(cache->blocks(), 1000 + tree_size_for(1000) / 4096);
  EXPECT_EQ(cache->present_count(), 0u);
  ASSERT_OK(cache->store(10, block_of('a', 3)));
  EXPECT_FALSE(cache->present(9));
  EXPECT_TRUE(cache->present(10));
  EXPECT_TRUE(cache->present(12));
  EXPECT_FALSE(cache->present(13));
  EXPECT_EQ(cache->present_count(), 3u);
  std::string out(2 * kBlockSize, '\0');
  ASSERT_OK(cache->read(12, 2, out.data()));
  EXPECT_EQ(out, block_of('a') + block_of('\0'));
  cache->forget(11);
  EXPECT_FALSE(cache->present(11));
  EXPECT_EQ(cache->present_count(), 2u);
  EXPECT_FALSE(cache->store(cache->blocks(), block_of('x')).ok());
  EXPECT_FALSE(cache->store(0, "short").ok());
}

TEST(BlockCacheTest, TheMapSurvivesReopening) {
  goldroot::testing::TempDir temp;
  VerityParams params = params_for(70000);  // a bitmap of more than one page
  uint64_t tree_size = tree_size_for(70000);
  {
    ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_disk(temp.path(), params, tree_size));
    ASSERT_OK(cache->store(5, block_of('b')));
    ASSERT_OK(cache->persist());
    ASSERT_OK(cache->store(69999, block_of('c')));
    ASSERT_OK(cache->store(70000, block_of('t')));  // the first tree block
  }  // the destructor persists the rest
  ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_disk(temp.path(), params, tree_size));
  EXPECT_EQ(cache->present_count(), 3u);
  EXPECT_TRUE(cache->present(5));
  EXPECT_TRUE(cache->present(69999));
  EXPECT_TRUE(cache->present(70000));
  EXPECT_FALSE(cache->present(6));
  EXPECT_EQ(cache->tree().substr(0, 4096), block_of('t'));
  std::string out(kBlockSize, '\0');
  ASSERT_OK(cache->read(69999, 1, out.data()));
  EXPECT_EQ(out, block_of('c'));
}

TEST(BlockCacheTest, AMapForAnotherImageIsDiscardedNotTrusted) {
  goldroot::testing::TempDir temp;
  uint64_t tree_size = tree_size_for(100);
  {
    ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_disk(temp.path(), params_for(100, 1), tree_size));
    ASSERT_OK(cache->store(0, block_of('z', 100)));
  }
  // Same file names, other contents (a map renamed or a header corrupted).
  std::string root = params_for(100, 1).root_hash.hex();
  std::string map = goldroot::testing::read_file(temp / (root + ".map"));
  map[20] ^= 1;  // the data block count
  goldroot::testing::write_file(temp / (root + ".map"), map);
  ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_disk(temp.path(), params_for(100, 1), tree_size));
  EXPECT_EQ(cache->present_count(), 0u);
  std::string out(kBlockSize, 'x');
  ASSERT_OK(cache->read(0, 1, out.data()));
  EXPECT_EQ(out, block_of('\0'));  // the old bytes are gone too

  // A wrong image size beside a good map.
  ASSERT_OK(cache->store(1, block_of('q')));
  cache.reset();
  ASSERT_EQ(::truncate((temp / (root + ".image")).c_str(), 4096), 0);
  ASSERT_OK_AND_ASSIGN(cache, BlockCache::open_disk(temp.path(), params_for(100, 1), tree_size));
  EXPECT_EQ(cache->present_count(), 0u);
}

TEST(BlockCacheTest, RejectsAGeometryItCannotHold) {
  goldroot::testing::TempDir temp;
  EXPECT_FALSE(BlockCache::open_ram(params_for(100), 4096 * 7).ok());
  VerityParams big_blocks = params_for(100);
  big_blocks.data_block_size = 512;
  EXPECT_FALSE(BlockCache::open_ram(big_blocks, tree_size_for(100)).ok());
}

TEST(BlockCacheTest, RamCacheHoldsOnlyWhatWasStored) {
  // 1 GiB of device; the memfd takes memory only for the stored blocks.
  uint64_t blocks = 262144;
  ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_ram(params_for(blocks), tree_size_for(blocks)));
  EXPECT_EQ(cache->kind(), CacheKind::kRam);
  struct stat before{};
  ASSERT_EQ(::fstat(cache->fd(), &before), 0);
  EXPECT_EQ(static_cast<uint64_t>(before.st_size), cache->size());
  ASSERT_OK(cache->store(1000, block_of('r', 16)));
  struct stat after{};
  ASSERT_EQ(::fstat(cache->fd(), &after), 0);
  uint64_t allocated = static_cast<uint64_t>(after.st_blocks) * 512;
  EXPECT_GE(allocated, 16 * kBlockSize);
  EXPECT_LE(allocated, 16 * kBlockSize + (1 << 21));  // a huge page at most
}

TEST(ReadSetTest, RecordsFirstReadsInOrderAndReloadsThem) {
  goldroot::testing::TempDir temp;
  Digest root;
  root.bytes.fill(3);
  {
    ReadSet set(temp.path(), root, 1000);
    EXPECT_TRUE(set.previous().empty());
    set.record(500, 2);
    set.record(502, 1);  // merges
    set.record(10, 1);
    set.record(500, 3);  // seen: not again
    EXPECT_EQ(set.recorded(), (std::vector<Extent>{{500, 3}, {10, 1}}));
    ASSERT_OK(set.save());
  }
  ReadSet again(temp.path(), root, 1000);
  EXPECT_EQ(again.previous(), (std::vector<Extent>{{500, 3}, {10, 1}}));
  Digest other;
  other.bytes.fill(4);
  ReadSet other_image(temp.path(), other, 1000);
  EXPECT_TRUE(other_image.previous().empty());
}

// After switch_root the daemon's path to the cache directory no longer
// resolves; the read set is still saved there (most of a boot's reads come
// after the switch).
TEST(ReadSetTest, SavesWhereItWasOpenedAfterThePathIsGone) {
  goldroot::testing::TempDir temp;
  std::string directory = temp / "cache";
  ASSERT_EQ(::mkdir(directory.c_str(), 0700), 0);
  Digest root;
  root.bytes.fill(5);
  ReadSet set(directory, root, 1000);
  set.record(7, 2);
  ASSERT_EQ(::rename(directory.c_str(), (temp / "moved").c_str()), 0);
  ASSERT_OK(set.save());
  ReadSet reopened(temp / "moved", root, 1000);
  EXPECT_EQ(reopened.previous(), (std::vector<Extent>{{7, 2}}));
}

// The file keeps when each extent was first read (the boot's pace, which
// the boot storm bench replays); version 1 files, without it, still load.
TEST(ReadSetTest, FileKeepsFirstReadTimesAndVersionOneStillLoads) {
  goldroot::testing::TempDir temp;
  Digest root;
  root.bytes.fill(6);
  ReadSet set(temp.path(), root, 1000);
  set.record(40, 1);
  set.record(3, 2);
  ASSERT_OK(set.save());
  std::ifstream in(set.path());
  std::stringstream text;
  text << in.rdbuf();
  ASSERT_OK_AND_ASSIGN(ReadSetFile file, parse_read_set(text.str()));
  EXPECT_EQ(file.root_hex, root.hex());
  ASSERT_EQ(file.extents.size(), 2u);
  EXPECT_EQ(file.extents[0].extent, (Extent{40, 1}));
  EXPECT_EQ(file.extents[1].extent, (Extent{3, 2}));
  EXPECT_LE(file.extents[0].at_ms, file.extents[1].at_ms);

  ASSERT_OK_AND_ASSIGN(ReadSetFile old, parse_read_set("goldroot-readset 1 ab\n7 2\n9 1\n"));
  EXPECT_EQ(old.extents.size(), 2u);
  EXPECT_EQ(old.extents[1].extent, (Extent{9, 1}));
  EXPECT_EQ(old.extents[1].at_ms, 0u);
  EXPECT_FALSE(parse_read_set("goldroot-readset 3 ab\n").ok());
  EXPECT_FALSE(parse_read_set("goldroot-readset 2 ab\n7 x 1\n").ok());
}

TEST(ReadSetTest, StopsRecordingAfterItsWindowAndAtItsCap) {
  Digest root;
  ReadSet closed("", root, 100, std::chrono::seconds(0));
  closed.record(1, 1);
  EXPECT_TRUE(closed.recorded().empty());
  ReadSet capped("", root, 100, std::chrono::minutes(5), 2);
  capped.record(1, 1);
  capped.record(5, 1);
  capped.record(9, 1);
  EXPECT_EQ(capped.recorded().size(), 2u);
}

}  // namespace
}  // namespace goldroot::blockd

// Seeding: a client whose disk cache holds an older image (v1) opens a newer
// one (v2) whose blocks partly equal v1's, at the same places or moved. The
// v2 cache ends complete and equal to v2, every block verified, and the
// server (goldroot's own HTTP server, counting Range bytes) sent only the
// blocks v1 did not have. A damaged old block is fetched instead, blocks an
// old map does not mark present are never indexed, and an old cache made
// under another salt is skipped.
#include "blockd/seed_index.h"

#include <fcntl.h>
#include <unistd.h>

#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "base/testing/testing.h"
#include "blockd/background_fill.h"
#include "blockd/block_cache.h"
#include "blockd/status_file.h"
#include "blockd/test_image_server.h"
#include "blockd/verifying_source.h"

namespace goldroot::blockd {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kV1Blocks = 203;
constexpr uint64_t kV2Blocks = 230;

std::string block_of(const std::string& image, uint64_t block) {
  return image.substr(block * kBlockSize, kBlockSize);
}

// v2: v1 with blocks changed in place, a run of v1 blocks moved elsewhere,
// and new blocks appended.
std::string make_v2(const std::string& v1) {
  std::string v2 = v1 + goldroot::testing::random_bytes((kV2Blocks - kV1Blocks) * kBlockSize, 99);
  std::string fresh = goldroot::testing::random_bytes(20 * kBlockSize, 98);
  auto put = [&](uint64_t block, std::string_view bytes) {
    v2.replace(block * kBlockSize, bytes.size(), bytes);
  };
  put(5, std::string_view(fresh).substr(0, kBlockSize));
  put(40, std::string_view(fresh).substr(kBlockSize, 8 * kBlockSize));  // 40..47
  put(100, std::string_view(fresh).substr(9 * kBlockSize, kBlockSize));
  put(180, v1.substr(10 * kBlockSize, 11 * kBlockSize));  // v1's 10..20 at 180..190
  return v2;
}

class SeedTest : public ::testing::Test {
 protected:
  SeedTest() : v1_(kV1Blocks), v2_(make_v2(v1_.image_)) { range_client_global_init(); }
  void SetUp() override {
    ASSERT_OK(v1_.start());
    ASSERT_OK(v2_.start());
  }

  SourceOptions options(TestImageServer& server, const SeedIndex* seed = nullptr) {
    SourceOptions options;
    options.image_url = server.image_url();
    options.tree_url = server.tree_url();
    options.retry_first = 20ms;
    options.retry_max = 100ms;
    options.seed = seed;
    options.log = [this](const std::string& line) { add_log(line); };
    return options;
  }
  std::string cache_dir() const { return temp_ / "cache"; }
  Result<std::unique_ptr<BlockCache>> open_cache(TestImageServer& server) {
    return BlockCache::open_disk(cache_dir(), server.params_, server.tree_.size());
  }
  Result<std::unique_ptr<SeedIndex>> build_index(TestImageServer& server) {
    return SeedIndex::build(cache_dir(), server.params_,
                            [this](const std::string& line) { add_log(line); });
  }
  // v1's cache with `units` of its 64 KiB units read (all: complete).
  void fill_v1(uint64_t units = UINT64_MAX) { fill(v1_, units); }
  void fill(TestImageServer& server, uint64_t units = UINT64_MAX) {
    ASSERT_OK_AND_ASSIGN(auto cache, open_cache(server));
    ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options(server)));
    for (uint64_t unit = 0; unit < std::min(units, source->units()); ++unit)
      ASSERT_OK(source->fill_unit(unit));
    if (units >= source->units()) ASSERT_TRUE(cache->complete());
    ASSERT_OK(cache->persist());
  }
  // The v2 blocks found anywhere among `v1_blocks` of v1.
  uint64_t shared_blocks(const std::set<uint64_t>& v1_blocks) const {
    std::set<std::string> old;
    for (uint64_t b : v1_blocks) old.insert(block_of(v1_.image_, b));
    uint64_t shared = 0;
    for (uint64_t b = 0; b < kV2Blocks; ++b) shared += old.count(block_of(v2_.image_, b));
    return shared;
  }
  void add_log(const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mutex_);
    log_ += line + "\n";
  }
  std::string logged() {
    std::lock_guard<std::mutex> lock(log_mutex_);
    return log_;
  }
  std::string device_bytes(VerifyingSource& source) {
    std::string out(source.size(), '\0');
    EXPECT_OK(source.read(0, static_cast<uint32_t>(out.size()), out.data()));
    return out;
  }

  TestImageServer v1_;
  TestImageServer v2_;
  goldroot::testing::TempDir temp_;
  std::mutex log_mutex_;
  std::string log_;
};

std::set<uint64_t> all_blocks(uint64_t count) {
  std::set<uint64_t> blocks;
  for (uint64_t b = 0; b < count; ++b) blocks.insert(b);
  return blocks;
}

TEST_F(SeedTest, AV1CacheSeedsV2AndOnlyTheRestIsFetched) {
  fill_v1();
  const uint64_t shared = shared_blocks(all_blocks(kV1Blocks));
  ASSERT_EQ(shared, kV2Blocks - 10 - (kV2Blocks - kV1Blocks));  // 10 changed, 27 appended

  ASSERT_OK_AND_ASSIGN(auto index, build_index(v2_));
  EXPECT_EQ(index->entries(), kV1Blocks);
  EXPECT_EQ(index->tree_entries(), 3u);  // v1's tree: two leaf blocks, one top
  EXPECT_EQ(index->memory_bytes(), (kV1Blocks + 3) * 12);
  ASSERT_EQ(index->sources().size(), 1u);
  EXPECT_EQ(index->sources()[0].root_hex, v1_.params_.root_hash.hex());

  ASSERT_OK_AND_ASSIGN(auto cache, open_cache(v2_));
  const uint64_t before = v2_.bytes_asked_;
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options(v2_, index.get())));
  // The tree, and the head of an update patch from v1 (there is none: 404).
  EXPECT_EQ(v2_.bytes_asked_ - before, PatchHeader::kHeadSize + v2_.tree_.size());
  // Reads ask for whole units: only the blocks not seeded go over the wire.
  EXPECT_EQ(device_bytes(*source), v2_.image_ + v2_.tree_);
  EXPECT_TRUE(cache->complete());
  const uint64_t fetched_blocks = kV2Blocks - shared;
  EXPECT_EQ(v2_.bytes_asked_ - before,
            PatchHeader::kHeadSize + v2_.tree_.size() + fetched_blocks * kBlockSize);
  SourceCounters counters = source->counters();
  EXPECT_EQ(counters.seeded_bytes, shared * kBlockSize);
  EXPECT_EQ(counters.fetched_bytes, v2_.tree_.size() + fetched_blocks * kBlockSize);
  EXPECT_EQ(counters.verify_failures, 0u);
  EXPECT_EQ(counters.seed_rejects, 0u);
  std::printf("v1 -> v2 (%llu blocks): seeded %llu bytes, fetched %llu bytes (tree %zu); "
              "unseeded it fetches %zu\n",
              static_cast<unsigned long long>(kV2Blocks),
              static_cast<unsigned long long>(counters.seeded_bytes),
              static_cast<unsigned long long>(counters.fetched_bytes), v2_.tree_.size(),
              v2_.image_.size() + v2_.tree_.size());

  // The cache on disk is v2, byte for byte, and every block verifies.
  std::string image_file = goldroot::testing::read_file(cache->image_path());
  EXPECT_EQ(image_file, v2_.image_ + v2_.tree_);
  VerityGeometry geometry(kV2Blocks, kBlockSize);
  for (uint64_t b = 0; b < kV2Blocks; ++b)
    ASSERT_TRUE(verity_block_matches(v2_.tree_, v2_.params_, geometry, b,
                                     image_file.data() + b * kBlockSize));

  auto status = StatusWriter::open(temp_ / "run", "blockd.json", source.get(), "v2");
  ASSERT_OK(status);
  ASSERT_OK((*status)->write_now());
  auto json = nlohmann::json::parse(goldroot::testing::read_file(temp_ / "run/blockd.json"));
  EXPECT_EQ(json["seeded_bytes"].get<uint64_t>(), shared * kBlockSize);
  EXPECT_EQ(json["fetched_bytes"].get<uint64_t>(), counters.fetched_bytes);
}

TEST_F(SeedTest, TheBackgroundFillSeedsToo) {
  fill_v1();
  ASSERT_OK_AND_ASSIGN(auto index, build_index(v2_));
  ASSERT_OK_AND_ASSIGN(auto cache, open_cache(v2_));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options(v2_, index.get())));
  std::promise<void> done;
  FillOptions fill_options;
  fill_options.idle_priority = false;
  BackgroundFill fill(source.get(), nullptr, fill_options, [&] { done.set_value(); });
  fill.start();
  ASSERT_EQ(done.get_future().wait_for(30s), std::future_status::ready);
  fill.stop();
  EXPECT_TRUE(cache->complete());
  EXPECT_EQ(goldroot::testing::read_file(cache->image_path()), v2_.image_ + v2_.tree_);
  const uint64_t shared = shared_blocks(all_blocks(kV1Blocks));
  EXPECT_EQ(source->counters().seeded_bytes, shared * kBlockSize);
  EXPECT_EQ(source->counters().fetched_bytes, v2_.tree_.size() + (kV2Blocks - shared) * kBlockSize);
}

TEST_F(SeedTest, ADamagedOldBlockIsFetchedInsteadWithoutAnError) {
  fill_v1();
  // v2 has v1's block 30 at 30 and v1's block 15 at 185: damage both in v1's cache.
  std::string v1_file = cache_dir() + "/" + v1_.params_.root_hash.hex() + ".image";
  int fd = ::open(v1_file.c_str(), O_WRONLY);
  ASSERT_EQ(::pwrite(fd, "XX", 2, 30 * kBlockSize + 100), 2);
  ASSERT_EQ(::pwrite(fd, "YY", 2, 15 * kBlockSize), 2);
  ::close(fd);

  ASSERT_OK_AND_ASSIGN(auto index, build_index(v2_));
  ASSERT_OK_AND_ASSIGN(auto cache, open_cache(v2_));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options(v2_, index.get())));
  std::string out(kBlockSize, '\0');
  ASSERT_OK(source->read(30 * kBlockSize, kBlockSize, out.data()));
  EXPECT_EQ(out, block_of(v2_.image_, 30));
  ASSERT_OK(source->read(185 * kBlockSize, kBlockSize, out.data()));
  EXPECT_EQ(out, block_of(v2_.image_, 185));
  EXPECT_EQ(device_bytes(*source), v2_.image_ + v2_.tree_);
  SourceCounters counters = source->counters();
  EXPECT_EQ(counters.seed_rejects, 3u);  // v2's 15 and 185 are both v1's 15
  EXPECT_EQ(counters.verify_failures, 0u);
  std::set<uint64_t> good = all_blocks(kV1Blocks);
  good.erase(30);
  good.erase(15);
  const uint64_t shared = shared_blocks(good);
  EXPECT_EQ(counters.seeded_bytes, shared * kBlockSize);
  EXPECT_EQ(counters.fetched_bytes, v2_.tree_.size() + (kV2Blocks - shared) * kBlockSize);
  EXPECT_EQ(counters.last_error, "");
}

// A larger image (24 leaf hash blocks under one top block) with two data
// blocks changed: the new tree is loaded by descent, so the client fetches
// the top block and the two leaf blocks over the changes, copies the other
// 22 from v1's tree, and then the two changed data blocks.
class TreeDescentTest : public SeedTest {
 protected:
  static constexpr uint64_t kBlocks = 24 * 128;
  TreeDescentTest()
      : big_v1_(kBlocks, 11), big_v2_(changed(big_v1_.image_)) {}
  static std::string changed(std::string image) {
    std::string fresh = goldroot::testing::random_bytes(2 * kBlockSize, 12);
    image.replace(300 * kBlockSize, kBlockSize, fresh, 0, kBlockSize);         // leaf block 2
    image.replace(2000 * kBlockSize, kBlockSize, fresh, kBlockSize, kBlockSize);  // leaf block 15
    return image;
  }
  void SetUp() override {
    SeedTest::SetUp();
    ASSERT_OK(big_v1_.start());
    ASSERT_OK(big_v2_.start());
  }
  std::string v1_image_file() const {
    return cache_dir() + "/" + big_v1_.params_.root_hash.hex() + ".image";
  }

  TestImageServer big_v1_;
  TestImageServer big_v2_;
};

TEST_F(TreeDescentTest, AV1CacheSeedsV2sTreeAndFetchesOnlyThePathsToTheChanges) {
  fill(big_v1_);
  ASSERT_EQ(big_v2_.tree_.size(), 25 * kBlockSize);
  ASSERT_OK_AND_ASSIGN(auto index, build_index(big_v2_));
  EXPECT_EQ(index->tree_entries(), 25u);
  ASSERT_OK_AND_ASSIGN(auto cache, open_cache(big_v2_));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options(big_v2_, index.get())));
  SourceCounters counters = source->counters();
  EXPECT_EQ(counters.tree_fetched_bytes, 3 * kBlockSize);
  EXPECT_EQ(counters.tree_seeded_bytes, 22 * kBlockSize);
  EXPECT_EQ(big_v2_.bytes_asked_, PatchHeader::kHeadSize + 3 * kBlockSize);  // no patch: 404
  EXPECT_EQ(counters.seed_rejects, 0u);

  EXPECT_EQ(device_bytes(*source), big_v2_.image_ + big_v2_.tree_);
  EXPECT_TRUE(cache->complete());
  ASSERT_OK(verify_verity_tree(cache->tree(), big_v2_.params_));
  counters = source->counters();
  EXPECT_EQ(counters.fetched_bytes, (3 + 2) * kBlockSize);
  EXPECT_EQ(big_v2_.bytes_asked_, PatchHeader::kHeadSize + (3 + 2) * kBlockSize);
  EXPECT_EQ(counters.seeded_bytes, (kBlocks - 2) * kBlockSize);
  EXPECT_EQ(counters.verify_failures, 0u);
  std::printf("v1 -> v2 (%llu blocks, 2 changed): tree fetched %llu of %zu bytes, %llu copied\n",
              static_cast<unsigned long long>(kBlocks),
              static_cast<unsigned long long>(counters.tree_fetched_bytes), big_v2_.tree_.size(),
              static_cast<unsigned long long>(counters.tree_seeded_bytes));
}

TEST_F(TreeDescentTest, ADamagedOldTreeBlockIsFetchedInstead) {
  fill(big_v1_);
  // Leaf hash block 7 of v1's tree (the same in v2): one byte flipped on disk.
  VerityGeometry geometry(kBlocks, kBlockSize);
  const uint64_t offset = (kBlocks + geometry.level_start(0) + 7) * kBlockSize + 40;
  int fd = ::open(v1_image_file().c_str(), O_RDWR);
  char byte = 0;
  ASSERT_EQ(::pread(fd, &byte, 1, static_cast<off_t>(offset)), 1);
  byte ^= 0x20;
  ASSERT_EQ(::pwrite(fd, &byte, 1, static_cast<off_t>(offset)), 1);
  ::close(fd);

  ASSERT_OK_AND_ASSIGN(auto index, build_index(big_v2_));
  ASSERT_OK_AND_ASSIGN(auto cache, open_cache(big_v2_));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options(big_v2_, index.get())));
  SourceCounters counters = source->counters();
  EXPECT_EQ(counters.tree_fetched_bytes, 4 * kBlockSize);  // the top, leaves 2, 7 and 15
  EXPECT_EQ(counters.tree_seeded_bytes, 21 * kBlockSize);
  EXPECT_EQ(counters.seed_rejects, 1u);
  EXPECT_EQ(counters.verify_failures, 0u);
  ASSERT_OK(verify_verity_tree(cache->tree(), big_v2_.params_));
  EXPECT_EQ(cache->tree(), big_v2_.tree_);
}

TEST_F(TreeDescentTest, ADamagedTreeBlockInTheNewCacheIsFetchedAgain) {
  {
    ASSERT_OK_AND_ASSIGN(auto cache, open_cache(big_v2_));
    ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options(big_v2_)));
    EXPECT_EQ(source->counters().tree_fetched_bytes, big_v2_.tree_.size());
    ASSERT_OK(cache->persist());
  }
  VerityGeometry geometry(kBlocks, kBlockSize);
  const std::string file = cache_dir() + "/" + big_v2_.params_.root_hash.hex() + ".image";
  int fd = ::open(file.c_str(), O_RDWR);
  ASSERT_EQ(::pwrite(fd, "Z", 1, static_cast<off_t>((kBlocks + geometry.level_start(0) + 9) * kBlockSize)), 1);
  ::close(fd);
  const uint64_t before = big_v2_.bytes_asked_;
  ASSERT_OK_AND_ASSIGN(auto cache, open_cache(big_v2_));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options(big_v2_)));
  EXPECT_EQ(big_v2_.bytes_asked_ - before, kBlockSize);
  EXPECT_EQ(source->counters().cache_repairs, 1u);
  EXPECT_EQ(cache->tree(), big_v2_.tree_);
}

TEST_F(SeedTest, BlocksAbsentFromTheOldMapAreNotIndexed) {
  fill_v1(/*units=*/1);  // blocks 0..15
  // v1's right bytes for block 50, written behind the map's back: not present.
  std::string v1_file = cache_dir() + "/" + v1_.params_.root_hash.hex() + ".image";
  int fd = ::open(v1_file.c_str(), O_WRONLY);
  ASSERT_EQ(::pwrite(fd, v1_.image_.data() + 50 * kBlockSize, kBlockSize, 50 * kBlockSize),
            static_cast<ssize_t>(kBlockSize));
  ::close(fd);

  ASSERT_OK_AND_ASSIGN(auto index, build_index(v2_));
  EXPECT_EQ(index->entries(), 16u);
  ASSERT_OK_AND_ASSIGN(auto cache, open_cache(v2_));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options(v2_, index.get())));
  EXPECT_EQ(device_bytes(*source), v2_.image_ + v2_.tree_);
  std::set<uint64_t> first_unit;
  for (uint64_t b = 0; b < 16; ++b) first_unit.insert(b);
  EXPECT_EQ(source->counters().seeded_bytes, shared_blocks(first_unit) * kBlockSize);
  EXPECT_EQ(source->counters().seed_rejects, 0u);
}

TEST_F(SeedTest, AnOldCacheUnderAnotherSaltIsSkipped) {
  TestImageServer other(v1_.image_, std::string(32, '\x11'));
  ASSERT_OK(other.start());
  {
    ASSERT_OK_AND_ASSIGN(auto cache, open_cache(other));
    ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options(other)));
    EXPECT_EQ(device_bytes(*source), other.image_ + other.tree_);
  }
  ASSERT_OK_AND_ASSIGN(auto index, build_index(v2_));
  EXPECT_TRUE(index->empty());
  EXPECT_NE(logged().find("under this image's salt"), std::string::npos) << logged();
}

TEST_F(SeedTest, NoOtherCachesGiveAnEmptyIndex) {
  ASSERT_OK_AND_ASSIGN(auto index, build_index(v2_));  // the directory does not even exist
  EXPECT_TRUE(index->empty());
  fill_v1();
  ASSERT_OK_AND_ASSIGN(auto own, build_index(v1_));  // its own cache is not a seed
  EXPECT_TRUE(own->empty());
}

TEST_F(SeedTest, ACacheInUseIsNotRemoved) {
  fill_v1();
  const std::string root = v1_.params_.root_hash.hex();
  UniqueFd directory(::open(cache_dir().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(directory.valid());
  {
    ASSERT_OK_AND_ASSIGN(auto cache, open_cache(v1_));
    Status busy = remove_disk_cache(directory.get(), root);
    ASSERT_FALSE(busy.ok());
    EXPECT_EQ(busy.error().code, ErrorCode::kBusy);
    EXPECT_TRUE(disk_cache_in_use(cache_dir(), root));
    EXPECT_EQ(disk_caches_in(cache_dir()), std::vector<std::string>{root});
  }
  EXPECT_FALSE(disk_cache_in_use(cache_dir(), root));
  ASSERT_OK(remove_disk_cache(directory.get(), root));
  EXPECT_TRUE(disk_caches_in(cache_dir()).empty());
  EXPECT_NE(::access((cache_dir() + "/" + root + ".image").c_str(), F_OK), 0);
  Status gone = remove_disk_cache(directory.get(), root);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

// An update patch (verity/update_patch.h) beside v2 on the server: a client
// holding v1 makes v2's changed blocks from it and v1's blocks, in a few
// requests and far fewer bytes than the blocks, never fetching an image
// block; a damaged old block or a forged patch costs fetches, never data.
class PatchTest : public TreeDescentTest {
 protected:
  // big_v1_ with small edits: three blocks with a few bytes changed and a
  // run of four moved down by 100 bytes, as a file rewritten in place.
  static std::string edited(std::string image) {
    image[10 * kBlockSize + 7] ^= 1;
    image[900 * kBlockSize + 4000] ^= 2;
    image[2500 * kBlockSize] ^= 4;
    image.replace(1200 * kBlockSize, 4 * kBlockSize, image, 1200 * kBlockSize + 100, 4 * kBlockSize);
    return image;
  }
  PatchTest() : edited_(edited(big_v1_.image_)) {}
  void SetUp() override {
    TreeDescentTest::SetUp();
    ASSERT_OK(edited_.start());
  }
  std::string patch_path() const {
    return edited_.temp_ / ("srv/image.bin" + patch_suffix(big_v1_.params_.root_hash));
  }
  PatchInput input(const TestImageServer& server) const {
    return {server.temp_ / "srv/image.bin", server.temp_ / "srv/image.bin.verity", server.params_};
  }
  MadePatch write_patch() {
    auto made = make_update_patch(input(big_v1_), input(edited_), {}, 19);
    EXPECT_TRUE(made.ok()) << made.error().message;
    goldroot::testing::write_file(patch_path(), made->bytes);
    return *made;
  }
  // edited_ through a source seeded from big_v1_'s cache, patch applied.
  std::unique_ptr<VerifyingSource> update(std::unique_ptr<SeedIndex>* index,
                                          std::unique_ptr<BlockCache>* cache) {
    auto built = build_index(edited_);
    EXPECT_TRUE(built.ok());
    *index = std::move(*built);
    auto opened = open_cache(edited_);
    EXPECT_TRUE(opened.ok());
    *cache = std::move(*opened);
    auto source = VerifyingSource::open(cache->get(), options(edited_, index->get()));
    EXPECT_TRUE(source.ok()) << source.error().message;
    (*source)->apply_patch(Lane::kFill);
    EXPECT_EQ(device_bytes(**source), edited_.image_ + edited_.tree_);
    EXPECT_TRUE((*cache)->complete());
    return std::move(*source);
  }

  TestImageServer edited_;
};

TEST_F(PatchTest, AV1CacheMakesV2FromThePatchWithoutFetchingABlock) {
  fill(big_v1_);
  MadePatch made = write_patch();
  // 7 data blocks changed; their 4 leaf hash blocks and the top one.
  EXPECT_EQ(made.target_blocks, 7u + 5u);
  EXPECT_EQ(made.tree_blocks, 5u);
  EXPECT_LT(made.bytes.size(), 2 * kBlockSize);  // 12 blocks, 48 KiB
  std::unique_ptr<SeedIndex> index;
  std::unique_ptr<BlockCache> cache;
  auto source = update(&index, &cache);
  SourceCounters counters = source->counters();
  EXPECT_EQ(counters.patched_bytes, 12 * kBlockSize);
  EXPECT_EQ(counters.patch_fetched_bytes, made.bytes.size());
  EXPECT_EQ(counters.fetched_bytes, made.bytes.size());
  EXPECT_EQ(counters.tree_fetched_bytes, 0u);
  EXPECT_EQ(counters.patch_rejects, 0u);
  EXPECT_TRUE(edited_.range_starts().empty());  // no Range request for the image
  EXPECT_EQ(edited_.bytes_asked_, made.bytes.size());
  ASSERT_OK(verify_verity_tree(cache->tree(), edited_.params_));
  std::printf("patch: %zu bytes make %llu blocks (%llu of them hash blocks)\n", made.bytes.size(),
              static_cast<unsigned long long>(made.target_blocks),
              static_cast<unsigned long long>(made.tree_blocks));
}

TEST_F(PatchTest, ADamagedOldBlockSpoilsWhatItMakesAndThatIsFetched) {
  fill(big_v1_);
  MadePatch made = write_patch();
  // The old block the patch makes block 10 from.
  int fd = ::open(v1_image_file().c_str(), O_WRONLY);
  ASSERT_EQ(::pwrite(fd, "ZZ", 2, 10 * kBlockSize + 500), 2);
  ::close(fd);
  std::unique_ptr<SeedIndex> index;
  std::unique_ptr<BlockCache> cache;
  auto source = update(&index, &cache);
  SourceCounters counters = source->counters();
  EXPECT_GE(counters.patch_rejects, 1u);
  EXPECT_EQ(counters.verify_failures, 0u);
  EXPECT_EQ(edited_.range_starts(), std::vector<uint64_t>{10 * kBlockSize});  // its unit, just it
  EXPECT_LT(counters.patched_bytes, 12 * kBlockSize);
}

TEST_F(PatchTest, AForgedPatchCostsFetchesNeverData) {
  fill(big_v1_);
  MadePatch made = write_patch();
  // A byte of the last frame flipped: it no longer decompresses, or makes
  // blocks that do not match the tree.
  std::string forged = made.bytes;
  forged[forged.size() - 20] ^= 0x10;
  goldroot::testing::write_file(patch_path(), forged);
  {
    std::unique_ptr<SeedIndex> index;
    std::unique_ptr<BlockCache> cache;
    auto source = update(&index, &cache);
    EXPECT_EQ(source->counters().verify_failures, 0u);
    EXPECT_LT(source->counters().patched_bytes, 12 * kBlockSize);
    EXPECT_FALSE(edited_.range_starts().empty());
  }
  // Not a patch at all: one line on the log, and the blocks are fetched.
  ASSERT_EQ(::unlink((cache_dir() + "/" + edited_.params_.root_hash.hex() + ".image").c_str()), 0);
  ASSERT_EQ(::unlink((cache_dir() + "/" + edited_.params_.root_hash.hex() + ".map").c_str()), 0);
  goldroot::testing::write_file(patch_path(), std::string(100, 'x'));
  std::unique_ptr<SeedIndex> index;
  std::unique_ptr<BlockCache> cache;
  auto source = update(&index, &cache);
  EXPECT_EQ(source->counters().patched_bytes, 0u);
  EXPECT_NE(logged().find("not using"), std::string::npos) << logged();
}

// A fetch=full host holds the image it boots as a whole copy, not a block
// cache: the copy seeds the next image just the same (its tree made here),
// and the patch named by its root applies.
TEST_F(PatchTest, AWholeCopyOfV1SeedsV2AndTakesThePatch) {
  MadePatch made = write_patch();
  goldroot::testing::write_file(cache_dir() + "/" + std::string(64, 'a') + ".erofs", big_v1_.image_);
  std::unique_ptr<SeedIndex> index;
  std::unique_ptr<BlockCache> cache;
  auto source = update(&index, &cache);
  ASSERT_EQ(index->sources().size(), 1u);
  EXPECT_EQ(index->sources()[0].root_hex, big_v1_.params_.root_hash.hex());
  EXPECT_NE(logged().find("seeding from the whole copy"), std::string::npos) << logged();
  SourceCounters counters = source->counters();
  EXPECT_EQ(counters.fetched_bytes, made.bytes.size());
  EXPECT_EQ(counters.patched_bytes, 12 * kBlockSize);
  EXPECT_EQ(counters.seeded_bytes, (kBlocks - 7) * kBlockSize);
  EXPECT_TRUE(edited_.range_starts().empty());
}

// On demand, a read of a changed block before the fill got to the patch
// makes the block's frame rather than fetching the block (and later the
// frame again).
TEST_F(PatchTest, AReadOfAChangedBlockMakesItsFrame) {
  fill(big_v1_);
  MadePatch made = write_patch();
  ASSERT_OK_AND_ASSIGN(auto index, build_index(edited_));
  ASSERT_OK_AND_ASSIGN(auto cache, open_cache(edited_));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options(edited_, index.get())));
  std::string out(kBlockSize, '\0');
  ASSERT_OK(source->read(900 * kBlockSize, kBlockSize, out.data()));
  EXPECT_EQ(out, block_of(edited_.image_, 900));
  EXPECT_TRUE(edited_.range_starts().empty());
  EXPECT_EQ(source->counters().fetched_bytes, made.bytes.size());  // one data frame: all of it
  source->apply_patch(Lane::kFill);  // the fill finds the frame made
  EXPECT_EQ(device_bytes(*source), edited_.image_ + edited_.tree_);
  EXPECT_EQ(source->counters().fetched_bytes, made.bytes.size());
  EXPECT_EQ(source->counters().patched_bytes, 12 * kBlockSize);
}

}  // namespace
}  // namespace goldroot::blockd

#include "blockd/verifying_source.h"

#include <fcntl.h>

#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/testing/testing.h"
#include "blockd/background_fill.h"
#include "blockd/status_file.h"
#include "blockd/test_image_server.h"

namespace goldroot::blockd {
namespace {

using namespace std::chrono_literals;

class VerifyingSourceTest : public ::testing::Test {
 protected:
  // 203 blocks: three full 64 KiB units and a short one; tree of 2 blocks.
  VerifyingSourceTest() : server_(203) { range_client_global_init(); }
  void SetUp() override { ASSERT_OK(server_.start()); }

  SourceOptions options(uint32_t unit_size = 64 * 1024) {
    SourceOptions options;
    options.image_url = server_.image_url();
    options.tree_url = server_.tree_url();
    options.unit_size = unit_size;
    options.retry_first = 20ms;
    options.retry_max = 100ms;
    options.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mutex_);
      log_ += line + "\n";
    };
    return options;
  }
  uint64_t tree_size() const { return server_.tree_.size(); }
  std::string cache_dir() const { return cache_temp_ / "cache"; }
  Result<std::unique_ptr<BlockCache>> open_disk() {
    return BlockCache::open_disk(cache_dir(), server_.params_, tree_size());
  }
  std::string read(VerifyingSource& source, uint64_t offset, uint32_t length) {
    std::string out(length, '\0');
    Status status = source.read(offset, length, out.data());
    EXPECT_TRUE(status.ok()) << (status.ok() ? "" : status.error().message);
    return out;
  }
  std::string logged() {
    std::lock_guard<std::mutex> lock(log_mutex_);
    return log_;
  }

  TestImageServer server_;
  goldroot::testing::TempDir cache_temp_;
  std::mutex log_mutex_;
  std::string log_;
};

TEST_F(VerifyingSourceTest, AColdReadEqualsTheImageAndTheTreeFollowsIt) {
  ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_ram(server_.params_, tree_size()));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options()));
  EXPECT_EQ(source->size(), server_.image_.size() + tree_size());
  std::string device = read(*source, 0, static_cast<uint32_t>(source->size()));
  EXPECT_EQ(device, server_.image_ + server_.tree_);
  // Unaligned reads too.
  EXPECT_EQ(read(*source, 5000, 10000), server_.image_.substr(5000, 10000));
  SourceCounters counters = source->counters();
  EXPECT_EQ(counters.fetched_bytes, server_.image_.size() + tree_size());
  EXPECT_EQ(counters.verify_failures, 0u);
  EXPECT_GT(counters.reused_bytes, 0u);
  EXPECT_TRUE(source->complete());
  std::string out(8192, '\0');
  EXPECT_FALSE(source->read(source->size() - 4096, 8192, out.data()).ok());
}

TEST_F(VerifyingSourceTest, AFlippedByteFailsItsBlockOnlyAndIsCounted) {
  server_.flip_byte(70 * 4096 + 123);
  ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_ram(server_.params_, tree_size()));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options()));
  std::string out(4096, '\0');
  Status bad = source->read(70 * 4096, 4096, out.data());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kCorruption);
  // The unit's other blocks were verified and stored; the neighbours read.
  EXPECT_TRUE(cache->present(69));
  EXPECT_TRUE(cache->present(71));
  EXPECT_FALSE(cache->present(70));
  uint64_t requests = server_.requests_;
  EXPECT_EQ(read(*source, 69 * 4096, 4096), server_.image_.substr(69 * 4096, 4096));
  EXPECT_EQ(read(*source, 71 * 4096, 4096), server_.image_.substr(71 * 4096, 4096));
  EXPECT_EQ(server_.requests_, requests);  // from the cache
  // A read spanning the bad block fails as a whole.
  std::string span(3 * 4096, '\0');
  EXPECT_FALSE(source->read(69 * 4096, 3 * 4096, span.data()).ok());
  EXPECT_GE(source->counters().verify_failures, 2u);
  EXPECT_NE(logged().find("block 70 "), std::string::npos) << logged();

  auto status = StatusWriter::open(cache_temp_ / "run", "blockd.json", source.get(), "abc");
  ASSERT_OK(status);
  ASSERT_OK((*status)->write_now());
  auto json = nlohmann::json::parse(goldroot::testing::read_file(cache_temp_ / "run/blockd.json"));
  EXPECT_GE(json["verify_failures"].get<int>(), 2);
  EXPECT_NE(json["last_error"].get<std::string>().find("block 70 "), std::string::npos);
  EXPECT_EQ(json["cache"], "ram");
  EXPECT_EQ(json["backing"], "network");
  EXPECT_EQ(json["image"], "abc");
  EXPECT_EQ(json["root_hash"], server_.params_.root_hash.hex());
}

TEST_F(VerifyingSourceTest, ACorruptCachedBlockIsFetchedAgain) {
  {
    ASSERT_OK_AND_ASSIGN(auto cache, open_disk());
    ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options()));
    read(*source, 0, 64 * 1024);
  }
  std::string image_file = cache_dir() + "/" + server_.params_.root_hash.hex() + ".image";
  int fd = ::open(image_file.c_str(), O_WRONLY);
  ASSERT_EQ(::pwrite(fd, "XX", 2, 3 * 4096 + 10), 2);
  ::close(fd);
  ASSERT_OK_AND_ASSIGN(auto cache, open_disk());
  EXPECT_TRUE(cache->present(3));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options()));
  uint64_t asked = server_.bytes_asked_;
  EXPECT_EQ(read(*source, 0, 64 * 1024), server_.image_.substr(0, 64 * 1024));
  EXPECT_EQ(source->counters().cache_repairs, 1u);
  EXPECT_EQ(server_.bytes_asked_ - asked, 4096u);  // only that block: its neighbours are present
}

TEST_F(VerifyingSourceTest, AReadWaitsForAServerThatIsDownThenCompletes) {
  ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_ram(server_.params_, tree_size()));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options()));
  server_.stop();
  auto reader = std::async(std::launch::async, [&] { return read(*source, 100 * 4096, 3 * 4096); });
  EXPECT_EQ(reader.wait_for(300ms), std::future_status::timeout);  // waiting, not failing
  EXPECT_NE(source->counters().last_error, "");
  ASSERT_OK(server_.start());  // the same port
  EXPECT_EQ(reader.get(), server_.image_.substr(100 * 4096, 3 * 4096));
  EXPECT_EQ(source->counters().last_error, "");
  EXPECT_NE(logged().find("answers again"), std::string::npos);
}

TEST_F(VerifyingSourceTest, ReadsTurnToAMirrorWhenTheServerStops) {
  TestImageServer mirror(203);  // the same image, as another server of the site has it
  ASSERT_OK(mirror.start());
  SourceOptions with_mirror = options();
  with_mirror.mirrors = {mirror.url("").substr(0, mirror.url("").find("/images/") + 1)};
  ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_ram(server_.params_, tree_size()));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), with_mirror));
  EXPECT_EQ(read(*source, 0, 4096), server_.image_.substr(0, 4096));
  EXPECT_EQ(mirror.requests_.load(), 0u);  // the server first, while it answers
  server_.stop();
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(read(*source, 100 * 4096, 3 * 4096), server_.image_.substr(100 * 4096, 3 * 4096));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, 5s);  // at once, not after a backoff (which the test sets to 20-100 ms anyway)
  EXPECT_GT(mirror.requests_.load(), 0u);
  EXPECT_NE(logged().find("trying the site's other servers"), std::string::npos) << logged();
  EXPECT_NE(logged().find("reading from " + with_mirror.mirrors[0]), std::string::npos) << logged();
  // Later reads go to the mirror straight away.
  uint64_t asked = mirror.requests_.load();
  EXPECT_EQ(read(*source, 150 * 4096, 4096), server_.image_.substr(150 * 4096, 4096));
  EXPECT_EQ(mirror.requests_.load(), asked + 1);
  // Both gone: the read waits, and completes when the server is back.
  mirror.stop();
  auto reader = std::async(std::launch::async, [&] { return read(*source, 200 * 4096, 4096); });
  EXPECT_EQ(reader.wait_for(300ms), std::future_status::timeout);
  ASSERT_OK(server_.start());
  EXPECT_EQ(reader.get(), server_.image_.substr(200 * 4096, 4096));
}

TEST_F(VerifyingSourceTest, ServerErrorsAreRetried) {
  ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_ram(server_.params_, tree_size()));
  server_.fail_next_ = 3;  // the tree fetch meets them
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options()));
  server_.fail_next_ = 2;
  EXPECT_EQ(read(*source, 4096, 4096), server_.image_.substr(4096, 4096));
  // The tree by descent: its top block, then its two leaf blocks.
  EXPECT_EQ(source->counters().requests, 2u + 3u + 1u + 2u);
}

TEST_F(VerifyingSourceTest, ShutdownEndsAWaitingRead) {
  ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_ram(server_.params_, tree_size()));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options()));
  server_.stop();
  auto reader = std::async(std::launch::async, [&] {
    std::string out(4096, '\0');
    return source->read(0, 4096, out.data());
  });
  std::this_thread::sleep_for(100ms);
  source->shutdown();
  Status status = reader.get();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
}

TEST_F(VerifyingSourceTest, ATreeThatDoesNotMatchTheRootIsRefused) {
  VerityParams wrong = server_.params_;
  wrong.root_hash.bytes[0] ^= 1;
  ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_ram(wrong, tree_size()));
  auto source = VerifyingSource::open(cache.get(), options());
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.error().code, ErrorCode::kCorruption);
}

// The holes an export kept put leaves where files went are zeros: made
// here, not fetched.
TEST(VerifyingSourceZeros, BlocksOfZerosAreMadeNotFetched) {
  range_client_global_init();
  std::string image = goldroot::testing::random_bytes(64 * 4096, 5);
  std::fill(image.begin() + 10 * 4096, image.begin() + 20 * 4096, '\0');
  TestImageServer server(image);
  ASSERT_OK(server.start());
  ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_ram(server.params_, server.tree_.size()));
  SourceOptions options;
  options.image_url = server.image_url();
  options.tree_url = server.tree_url();
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options));
  std::string device(source->size(), '\0');
  ASSERT_OK(source->read(0, static_cast<uint32_t>(device.size()), device.data()));
  EXPECT_EQ(device, image + server.tree_);
  SourceCounters counters = source->counters();
  EXPECT_EQ(counters.fetched_bytes, server.tree_.size() + 54 * 4096);
  EXPECT_EQ(counters.seeded_bytes, 10 * 4096u);
  EXPECT_EQ(counters.verify_failures, 0u);
}

TEST_F(VerifyingSourceTest, ConcurrentReadsOfOneUnitFetchItOnce) {
  ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_ram(server_.params_, tree_size()));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options()));
  uint64_t before = server_.requests_;
  std::vector<std::thread> readers;
  for (int i = 0; i < 8; ++i)
    readers.emplace_back([&, i] {
      EXPECT_EQ(read(*source, (16 + i * 2) * 4096, 4096),
                server_.image_.substr((16 + i * 2) * 4096, 4096));
    });
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(server_.requests_ - before, 1u);
}

TEST_F(VerifyingSourceTest, AUnitSkipsTheBlocksPresentAtItsEnds) {
  ASSERT_OK_AND_ASSIGN(auto cache, BlockCache::open_ram(server_.params_, tree_size()));
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options()));
  read(*source, 0, 4096);  // unit 0: blocks 0-15
  read(*source, 20 * 4096, 4096);  // unit 1: blocks 16-31
  uint64_t asked = server_.bytes_asked_;
  // Unit 0 is present; drop its two middle blocks: only those come again.
  cache->forget(7);
  cache->forget(8);
  read(*source, 7 * 4096, 8192);
  EXPECT_EQ(server_.bytes_asked_ - asked, 8192u);
  // The last unit is short (blocks 192-202).
  asked = server_.bytes_asked_;
  EXPECT_EQ(read(*source, 202 * 4096, 4096), server_.image_.substr(202 * 4096));
  EXPECT_EQ(server_.bytes_asked_ - asked, 11u * 4096);
}

TEST_F(VerifyingSourceTest, AHalfFilledDiskCacheFetchesOnlyTheRest) {
  {
    ASSERT_OK_AND_ASSIGN(auto cache, open_disk());
    ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options()));
    read(*source, 0, 100 * 4096);
  }
  uint64_t requests = server_.requests_;
  uint64_t asked = server_.bytes_asked_;
  ASSERT_OK_AND_ASSIGN(auto cache, open_disk());
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options()));
  EXPECT_EQ(server_.requests_, requests);  // the tree came from the cache
  EXPECT_EQ(read(*source, 0, static_cast<uint32_t>(server_.image_.size())), server_.image_);
  // The first run fetched units 0-6 (blocks 0-111); now units 7-12 come.
  EXPECT_EQ(server_.bytes_asked_ - asked, (203u - 112u) * 4096);
  EXPECT_EQ(server_.requests_ - requests, 6u);
  // Every block but the six that waited for a fetch (112, 128, … 192).
  EXPECT_EQ(source->counters().reused_bytes, (203u - 6u) * 4096);
}

TEST_F(VerifyingSourceTest, TheFillCompletesTheDiskCacheReadSetFirst) {
  ReadSet previous_boot(cache_dir(), server_.params_.root_hash, 203);
  previous_boot.record(150, 2);
  std::filesystem::create_directories(cache_dir());
  ASSERT_OK(previous_boot.save());

  ReadSet read_set(cache_dir(), server_.params_.root_hash, 203);
  ASSERT_EQ(read_set.previous().size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto cache, open_disk());
  SourceOptions source_options = options();
  source_options.read_set = &read_set;
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), source_options));
  read(*source, 5 * 4096, 4096);
  EXPECT_EQ(read_set.recorded(), (std::vector<Extent>{{5, 1}}));
  EXPECT_EQ(server_.fill_requests_, 0u);  // a read is not a fill

  std::promise<void> completed;
  size_t fill_from = server_.range_starts().size();
  BackgroundFill fill(source.get(), &read_set, FillOptions{.after_foreground = 0ms, .retry_pass = 50ms},
                      [&] { completed.set_value(); });
  fill.start();
  ASSERT_EQ(completed.get_future().wait_for(20s), std::future_status::ready);
  fill.stop();
  // The previous boot's unit first (blocks 144-159), then ascending.
  std::vector<uint64_t> starts = server_.range_starts();
  ASSERT_EQ(starts.size(), fill_from + 12);
  EXPECT_EQ(starts[fill_from], 144u * 4096);
  EXPECT_EQ(starts[fill_from + 1], 16u * 4096);
  EXPECT_EQ(starts.back(), 192u * 4096);
  EXPECT_TRUE(fill.complete());
  EXPECT_EQ(fill.units_filled(), 12u);  // unit 0 was read in the foreground
  // Marked, so a server may give other PCs' boot reads the link first.
  EXPECT_EQ(server_.fill_requests_, 12u);
  std::string file = goldroot::testing::read_file(cache->image_path());
  EXPECT_EQ(file.substr(0, server_.image_.size()), server_.image_);
  EXPECT_EQ(file.substr(server_.image_.size()), server_.tree_);
  // The map says so after a reopen, too.
  source.reset();
  cache.reset();
  ASSERT_OK_AND_ASSIGN(cache, open_disk());
  EXPECT_TRUE(cache->complete());
}

TEST_F(VerifyingSourceTest, TheStatusWriterKeepsWritingThroughItsDirectoryFd) {
  ASSERT_OK_AND_ASSIGN(auto cache, open_disk());
  ASSERT_OK_AND_ASSIGN(auto source, VerifyingSource::open(cache.get(), options()));
  read(*source, 0, 4096);
  ASSERT_OK_AND_ASSIGN(auto writer,
                       StatusWriter::open(cache_temp_ / "run", "blockd.json", source.get(), "sha"));
  int ticks = 0;
  writer->set_tick([&] { ++ticks; });
  writer->start(10ms);
  // The directory's path moves (as after switch_root); the fd still finds it.
  std::filesystem::rename(cache_temp_ / "run", cache_temp_ / "moved");
  std::this_thread::sleep_for(50ms);
  writer->set_backing(Backing::kLocal);
  writer->stop();
  EXPECT_GE(ticks, 2);
  auto json = nlohmann::json::parse(goldroot::testing::read_file(cache_temp_ / "moved/blockd.json"));
  EXPECT_EQ(json["backing"], "local");
  EXPECT_EQ(json["cache"], "disk");
  const uint64_t tree_blocks = tree_size() / 4096;  // 3
  EXPECT_EQ(json["blocks"], 203 + tree_blocks);
  EXPECT_EQ(json["present"], 16 + tree_blocks);
  EXPECT_EQ(json["fetched_bytes"], (16 + tree_blocks) * 4096);
  EXPECT_DOUBLE_EQ(json["fill_percent"].get<double>(), 9.2);  // 19 of 206, rounded down
}

}  // namespace
}  // namespace goldroot::blockd

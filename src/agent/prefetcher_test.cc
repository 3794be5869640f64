#include "agent/prefetcher.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/testing/testing.h"

namespace goldroot::agent {
namespace {

// Stands in for goldroot-blockd --prefetch: copies DIR/source to the
// cache file and writes a status, or fails, or hangs, as marker files in
// the cache directory say; records its arguments.
constexpr const char* kFakeBlockd = R"(#!/bin/sh
echo "$@" > "$FAKE_ARGS"
while [ $# -gt 0 ]; do
  case $1 in
    --cache-dir) cache=$2; shift;;
    --root-hash) root=$2; shift;;
    --status) status=$2; shift;;
  esac
  shift
done
[ -e "$cache/fail" ] && { echo "goldroot-blockd: error: 3 blocks of image x did not match their verity hash" >&2; exit 1; }
[ -e "$cache/hang" ] && exec sleep 30
cp "$cache/source" "$cache/$root.image" && : > "$cache/$root.map"
printf '{"root_hash":"%s","blocks":3,"present":3,"fetched_bytes":100,"seeded_bytes":200}' "$root" > "$status"
)";

class PrefetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_file(dir_ / "blockd", kFakeBlockd);
    ::chmod((dir_ / "blockd").c_str(), 0755);
    ::setenv("FAKE_ARGS", (dir_ / "args").c_str(), 1);
    ASSERT_EQ(::mkdir((dir_ / "cache").c_str(), 0755), 0);
    image_ = testing::random_bytes(2 * 4096, 7);
    testing::write_file(dir_ / "cache/source", image_ + std::string(4096, 't'));
  }

  PrefetchConfig config() const {
    return {.blockd_program = dir_ / "blockd",
            .cache_dir = dir_ / "cache",
            .status_path = dir_ / "prefetch.json",
            .log_path = dir_ / "prefetch.log",
            .server = "http://10.0.0.1:8080/",
            .mirrors = {"http://10.0.0.2:8080/"},
            .tls_pin_file = ""};
  }

  BootManifest manifest(char root, const std::string& fetch = "demand") const {
    BootManifest out;
    out.image.sha256 = Sha256::of(image_);
    out.image.size = image_.size();
    out.image.format = "erofs";
    out.image.url = "/images/" + out.image.sha256.hex() + ".erofs";
    ImageVerity verity;
    verity.params.data_blocks = 2;
    verity.params.root_hash = *Digest::from_hex(std::string(64, root));
    verity.tree_size = 4096;
    verity.tree_url = "/images/" + out.image.sha256.hex() + ".verity";
    out.image.verity = verity;
    out.commit = *Digest::from_hex(std::string(64, '2'));
    HostBinding binding;
    binding.fetch = fetch;
    out.host = binding;
    return out;
  }

  // The state once the fake fetch has ended (or `state` stayed the same
  // for a while: a hanging one).
  PrefetchState settled(Prefetcher& prefetcher) {
    for (int i = 0; i < 500; ++i) {
      PrefetchState state = prefetcher.state();
      if (state.state != "fetching") return state;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return prefetcher.state();
  }

  std::string root(char c) const { return std::string(64, c); }
  bool exists(const std::string& name) const { return ::access((dir_ / name).c_str(), F_OK) == 0; }

  testing::TempDir dir_;
  std::string image_;
};

TEST_F(PrefetcherTest, FetchesAnOrderIntoTheCacheAndSaysHowFar) {
  Prefetcher prefetcher(config());
  EXPECT_TRUE(prefetcher.state().empty());
  prefetcher.order(manifest('b'));
  PrefetchState state = settled(prefetcher);
  EXPECT_EQ(state.state, "complete") << state.error;
  EXPECT_EQ(state.commit, std::string(64, '2'));
  EXPECT_EQ(state.root_hash, root('b'));
  EXPECT_EQ(state.total_bytes, 3u * 4096);
  EXPECT_EQ(state.done_bytes, 3u * 4096);
  EXPECT_EQ(state.fetched_bytes, 100u);
  EXPECT_EQ(state.seeded_bytes, 200u);
  EXPECT_EQ(state.percent(), 100);
  EXPECT_TRUE(exists("cache/" + root('b') + ".image"));
  std::string args = testing::read_file(dir_ / "args");
  EXPECT_NE(args.find("--prefetch --cache-dir " + (dir_ / "cache")), std::string::npos) << args;
  EXPECT_NE(args.find("--image-url http://10.0.0.1:8080/images/"), std::string::npos) << args;
  EXPECT_NE(args.find("--root-hash " + root('b')), std::string::npos) << args;
  EXPECT_NE(args.find("--mirror http://10.0.0.2:8080/"), std::string::npos) << args;
  // The same order again: nothing is started.
  ::unlink((dir_ / "args").c_str());
  prefetcher.order(manifest('b'));
  EXPECT_EQ(settled(prefetcher).state, "complete");
  EXPECT_FALSE(exists("args"));
}

TEST_F(PrefetcherTest, AnotherImageReplacesThePreviousOrdersCache) {
  Prefetcher prefetcher(config());
  prefetcher.order(manifest('b'));
  ASSERT_EQ(settled(prefetcher).state, "complete");
  prefetcher.order(manifest('c'));
  EXPECT_EQ(settled(prefetcher).state, "complete");
  EXPECT_FALSE(exists("cache/" + root('b') + ".image"));
  EXPECT_FALSE(exists("cache/" + root('b') + ".map"));
  EXPECT_TRUE(exists("cache/" + root('c') + ".image"));
}

TEST_F(PrefetcherTest, AFullHostGetsTheWholeCopyBootReuses) {
  Prefetcher prefetcher(config());
  prefetcher.order(manifest('b', "full"));
  PrefetchState state = settled(prefetcher);
  ASSERT_EQ(state.state, "complete") << state.error;
  std::string whole = "cache/" + Sha256::of(image_).hex() + ".erofs";
  EXPECT_EQ(testing::read_file(dir_ / whole), image_);
  EXPECT_FALSE(exists("cache/" + root('b') + ".image"));
  EXPECT_FALSE(exists("cache/" + root('b') + ".map"));
  // A new agent finds it done.
  Prefetcher again(config());
  again.order(manifest('b', "full"));
  EXPECT_EQ(again.state().state, "complete");
}

TEST_F(PrefetcherTest, AWholeCopyThatIsNotTheImageIsRefused) {
  Prefetcher prefetcher(config());
  BootManifest wrong = manifest('b', "full");
  wrong.image.sha256 = *Digest::from_hex(std::string(64, 'e'));
  prefetcher.order(wrong);
  PrefetchState state = settled(prefetcher);
  EXPECT_EQ(state.state, "failed");
  EXPECT_NE(state.error.find("sha256 differs"), std::string::npos) << state.error;
  EXPECT_FALSE(exists("cache/" + std::string(64, 'e') + ".erofs"));
}

TEST_F(PrefetcherTest, AFailedFetchSaysWhyInOneSentence) {
  testing::write_file(dir_ / "cache/fail", "");
  Prefetcher prefetcher(config());
  prefetcher.order(manifest('b'));
  PrefetchState state = settled(prefetcher);
  EXPECT_EQ(state.state, "failed");
  EXPECT_EQ(state.error, "3 blocks of image x did not match their verity hash");
}

TEST_F(PrefetcherTest, NoOrderPausesAndTheNextResumes) {
  testing::write_file(dir_ / "cache/hang", "");
  Prefetcher prefetcher(config());
  prefetcher.order(manifest('b'));
  EXPECT_EQ(prefetcher.state().state, "fetching");
  prefetcher.pause();
  EXPECT_EQ(prefetcher.state().state, "paused");
  ::unlink((dir_ / "cache/hang").c_str());
  prefetcher.order(manifest('b'));
  EXPECT_EQ(settled(prefetcher).state, "complete");
}

TEST_F(PrefetcherTest, ARefusedOrderIsReportedWithoutItsCommit) {
  Prefetcher prefetcher(config());
  prefetcher.refuse("refused the server's pre-fetch order: it answers another report");
  PrefetchState state = prefetcher.state();
  EXPECT_EQ(state.state, "refused");
  EXPECT_TRUE(state.commit.empty());
  EXPECT_FALSE(exists("args"));
}

TEST_F(PrefetcherTest, WithoutADataPartitionThereIsNowhereToKeepIt) {
  PrefetchConfig diskless = config();
  diskless.cache_dir.clear();
  Prefetcher prefetcher(diskless);
  prefetcher.order(manifest('b'));
  PrefetchState state = prefetcher.state();
  EXPECT_EQ(state.state, "failed");
  EXPECT_NE(state.error.find("no data partition"), std::string::npos);
  EXPECT_FALSE(exists("args"));
}

}  // namespace
}  // namespace goldroot::agent

#include "initrd/goldroot_initrd.h"

#include <sys/stat.h>
#include <utime.h>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

using testing::TempDir;
using testing::write_file;

Digest digest_of(char c) { return *Digest::from_hex(std::string(64, c)); }

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// A build as build_goldroot_initrd leaves it: the image, the recipe naming
// it, and the note of the commit that boots with it; `age` seconds old.
void build(const TempDir& cache, char recipe, char initrd, char commit, int64_t now, int64_t age) {
  std::string image = cache / (digest_of(initrd).hex() + ".img");
  write_file(image, "cpio");
  write_file(cache / (digest_of(recipe).hex() + ".ref"), digest_of(initrd).hex() + "\n");
  write_file(cache / (digest_of(commit).hex() + ".commit"), digest_of(initrd).hex() + "\n");
  struct utimbuf times = {static_cast<time_t>(now - age), static_cast<time_t>(now - age)};
  ::utime(image.c_str(), &times);
}

TEST(PruneGoldrootInitrds, RemovesWhatOnlyCollectedCommitsUsed) {
  TempDir cache;
  const int64_t now = 1'800'000'000;
  build(cache, 'a', '1', 'c', now, 7200);  // kept commit c
  build(cache, 'b', '2', 'd', now, 7200);  // commit d was collected
  ASSERT_OK_AND_ASSIGN(PruneReport report,
                       prune_goldroot_initrds(cache.path(), {digest_of('c')}, now));
  EXPECT_TRUE(exists(cache / (digest_of('1').hex() + ".img")));
  EXPECT_TRUE(exists(cache / (digest_of('a').hex() + ".ref")));
  EXPECT_TRUE(exists(cache / (digest_of('c').hex() + ".commit")));
  EXPECT_FALSE(exists(cache / (digest_of('2').hex() + ".img")));
  EXPECT_FALSE(exists(cache / (digest_of('b').hex() + ".ref")));
  EXPECT_FALSE(exists(cache / (digest_of('d').hex() + ".commit")));
  EXPECT_EQ(report.files_removed, 3u);
}

TEST(PruneGoldrootInitrds, ABuildSharedWithAKeptCommitStays) {
  TempDir cache;
  const int64_t now = 1'800'000'000;
  build(cache, 'a', '1', 'c', now, 7200);
  write_file(cache / (digest_of('d').hex() + ".commit"), digest_of('1').hex() + "\n");
  ASSERT_OK(prune_goldroot_initrds(cache.path(), {digest_of('c')}, now));
  EXPECT_TRUE(exists(cache / (digest_of('1').hex() + ".img")));
  EXPECT_FALSE(exists(cache / (digest_of('d').hex() + ".commit")));
}

TEST(PruneGoldrootInitrds, AFreshBuildNoNoteNamesYetStays) {
  TempDir cache;
  const int64_t now = 1'800'000'000;
  build(cache, 'a', '1', 'd', now, 60);  // a server noting it just now
  write_file(cache / ".build-123.img", "half");
  struct utimbuf old = {static_cast<time_t>(now - 7200), static_cast<time_t>(now - 7200)};
  ::utime((cache / ".build-123.img").c_str(), &old);
  ASSERT_OK(prune_goldroot_initrds(cache.path(), {}, now));
  EXPECT_TRUE(exists(cache / (digest_of('1').hex() + ".img")));
  EXPECT_TRUE(exists(cache / (digest_of('a').hex() + ".ref")));
  EXPECT_FALSE(exists(cache / ".build-123.img")) << "a crashed build outlives the grace period";
}

TEST(PruneGoldrootInitrds, AMissingCacheIsNothingToDo) {
  TempDir base;
  ASSERT_OK_AND_ASSIGN(PruneReport report, prune_goldroot_initrds(base / "none", {}, 0));
  EXPECT_EQ(report.files_removed, 0u);
}

}  // namespace
}  // namespace goldroot

// The cache directory keeps the image booted and, for an on-demand boot, the
// block cache that served the boot before (the seed of the new image), and
// nothing older.
#include "boot/image_cache_dir.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "base/testing/testing.h"

namespace goldroot::boot {
namespace {

using testing::TempDir;

std::string root(char digit) { return std::string(64, digit); }

void make_block_cache(const TempDir& dir, const std::string& root_hex, int minutes_ago) {
  for (const char* suffix : {".image", ".map", ".readset"}) {
    testing::write_file(dir / (root_hex + suffix), "x");
    std::filesystem::last_write_time(dir / (root_hex + suffix),
                                     std::filesystem::file_time_type::clock::now() -
                                         std::chrono::minutes(minutes_ago));
  }
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

TEST(ImageCacheDir, AnOnDemandBootKeepsThePreviousImagesBlockCacheOnly) {
  TempDir dir;
  make_block_cache(dir, root('a'), 0);    // the image booted now
  make_block_cache(dir, root('b'), 10);   // served the boot before: the seed
  make_block_cache(dir, root('c'), 600);  // older
  testing::write_file(dir / "old.erofs", "x");
  testing::write_file(dir / "manifest.json", "{}");
  drop_other_images(dir.path(), "", root('a'));
  for (const char* suffix : {".image", ".map", ".readset"}) {
    EXPECT_TRUE(exists(dir / (root('a') + suffix))) << suffix;
    EXPECT_TRUE(exists(dir / (root('b') + suffix))) << suffix;
    EXPECT_FALSE(exists(dir / (root('c') + suffix))) << suffix;
  }
  EXPECT_FALSE(exists(dir / "old.erofs"));
  EXPECT_TRUE(exists(dir / "manifest.json"));
  // The next boot of the same image keeps the same two.
  drop_other_images(dir.path(), "", root('a'));
  EXPECT_TRUE(exists(dir / (root('b') + ".map")));
}

TEST(ImageCacheDir, AWholeDownloadKeepsNoBlockCache) {
  TempDir dir;
  make_block_cache(dir, root('b'), 10);
  testing::write_file(dir / "new.erofs", "x");
  testing::write_file(dir / "old.erofs", "x");
  drop_other_images(dir.path(), dir / "new.erofs", "");
  EXPECT_TRUE(exists(dir / "new.erofs"));
  EXPECT_FALSE(exists(dir / "old.erofs"));
  EXPECT_FALSE(exists(dir / (root('b') + ".map")));
  EXPECT_FALSE(exists(dir / (root('b') + ".image")));
}

}  // namespace
}  // namespace goldroot::boot

#include "blockd/file_source.h"

#include "base/testing/testing.h"

namespace goldroot::blockd {
namespace {

using testing::TempDir;

TEST(FileBlockSourceTest, ReadsAcrossTheSeamBetweenFiles) {
  TempDir dir;
  std::string image(8192, 'a'), tree(4096, 't');
  image[8191] = 'z';
  testing::write_file(dir / "image", image);
  testing::write_file(dir / "tree", tree);
  ASSERT_OK_AND_ASSIGN(FileBlockSource source, FileBlockSource::open({dir / "image", dir / "tree"}));
  EXPECT_EQ(source.size(), 12288u);
  char out[4096];
  ASSERT_OK(source.read(8190, 4, out));
  EXPECT_EQ(std::string(out, 4), "azt" "t");
  ASSERT_OK(source.read(8192, 4096, out));
  EXPECT_EQ(std::string(out, 4096), tree);
}

TEST(FileBlockSourceTest, RefusesReadsPastTheEndAndUnalignedFiles) {
  TempDir dir;
  testing::write_file(dir / "image", std::string(4096, 'a'));
  testing::write_file(dir / "odd", std::string(100, 'a'));
  ASSERT_OK_AND_ASSIGN(FileBlockSource source, FileBlockSource::open({dir / "image"}));
  char out[8];
  auto past = source.read(4092, 8, out);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code, ErrorCode::kInvalidArgument);
  auto odd = FileBlockSource::open({dir / "odd"});
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.error().message.find("not a multiple of 4096"), std::string::npos);
  EXPECT_FALSE(FileBlockSource::open({dir / "missing"}).ok());
}

}  // namespace
}  // namespace goldroot::blockd

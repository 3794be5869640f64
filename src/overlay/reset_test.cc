// mountinfo parsing for reset's "in use" check: escapes and overlay options.
#include "overlay/reset.h"

#include "base/testing/testing.h"

namespace goldroot {
namespace {

TEST(MountInfo, ParsesOverlayOptionsWithEscapes) {
  std::string text =
      "29 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
      "44 27 0:39 / /mnt/my\\040root rw,relatime - overlay overlay rw,lowerdir=/l\\054a:/l2,"
      "upperdir=/srv/up\\040per,workdir=/srv/work,redirect_dir=on\n";
  auto mounts = parse_mountinfo(text);
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[1].fstype, "overlay");
  EXPECT_EQ(mounts[1].mount_point, "/mnt/my root");
  std::map<std::string, std::string> options(mounts[1].options.begin(), mounts[1].options.end());
  EXPECT_EQ(options["lowerdir"], "/l,a:/l2");
  EXPECT_EQ(options["upperdir"], "/srv/up per");
  EXPECT_EQ(options["workdir"], "/srv/work");
}

}  // namespace
}  // namespace goldroot

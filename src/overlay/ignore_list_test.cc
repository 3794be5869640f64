// The ignore list: glob semantics, directory coverage, the file format.
#include "overlay/ignore_list.h"

#include "base/testing/testing.h"

namespace goldroot {
namespace {

TEST(GlobMatch, StarStaysInOneComponentDoubleStarCrosses) {
  EXPECT_TRUE(glob_match("/var/lib/NetworkManager/*.lease", "/var/lib/NetworkManager/eth0.lease"));
  EXPECT_FALSE(glob_match("/var/lib/NetworkManager/*.lease", "/var/lib/NetworkManager/a/b.lease"));
  EXPECT_TRUE(glob_match("/home/**/.cache", "/home/ann/x/.cache"));
  EXPECT_TRUE(glob_match("/etc/?tab", "/etc/mtab"));
  EXPECT_FALSE(glob_match("/etc/?tab", "/etc/fstab"));
  EXPECT_FALSE(glob_match("/etc/mtab", "/etc/mtab2"));
}

TEST(IgnoreList, DefaultsCoverBootNoiseAndNothingElse) {
  IgnoreList list = IgnoreList::defaults();
  EXPECT_TRUE(list.matches("/var/log"));
  EXPECT_TRUE(list.matches("/var/log/journal/abc/system.journal"));
  EXPECT_TRUE(list.matches("/tmp/x"));
  EXPECT_TRUE(list.matches("/etc/machine-id"));
  EXPECT_FALSE(list.matches("/var/logs"));  // a sibling with the same prefix
  EXPECT_FALSE(list.matches("/etc/fstab"));
  EXPECT_FALSE(list.matches("/home/user/thesis.tex"));
  EXPECT_FALSE(list.matches("/var/lib/apt/extended_states"));
}

TEST(IgnoreList, FileFormat) {
  ASSERT_OK_AND_ASSIGN(IgnoreList list, IgnoreList::parse("# site noise\n\n/opt/app/cache/\n"
                                                          "  /srv/*.tmp  \n",
                                                          "test"));
  EXPECT_EQ(list.patterns(), (std::vector<std::string>{"/opt/app/cache", "/srv/*.tmp"}));
  EXPECT_TRUE(list.matches("/opt/app/cache/x"));
  EXPECT_FALSE(list.matches("/var/log/syslog"));  // replaced, not extended

  ASSERT_OK_AND_ASSIGN(IgnoreList extended, IgnoreList::parse("@defaults\n/srv/x\n", "test"));
  EXPECT_TRUE(extended.matches("/var/log/syslog"));
  EXPECT_TRUE(extended.matches("/srv/x"));

  auto bad = IgnoreList::parse("/ok\nrelative/path\n", "site/changes-ignore");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("site/changes-ignore line 2"), std::string::npos);
}

TEST(IgnoreList, MissingFileMeansDefaults) {
  ASSERT_OK_AND_ASSIGN(IgnoreList list, IgnoreList::load_or_defaults("/nonexistent/ignore"));
  EXPECT_EQ(list.patterns(), IgnoreList::default_patterns());
}

}  // namespace
}  // namespace goldroot

#include "netboot/mac_boot_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "base/testing/testing.h"

namespace goldroot::netboot {
namespace {

std::string link_of(const std::string& path) {
  char target[4096];
  ssize_t length = ::readlink(path.c_str(), target, sizeof target);
  return length < 0 ? "" : std::string(target, length);
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

TEST(MacBootFilesTest, EachMacGetsALinkUnderItsHyphenatedName) {
  testing::TempDir root;
  ASSERT_OK(write_mac_boot_files(root.path(), "goldroot.efi",
                                 {{"52:54:00:AA:00:01", "/site/exports/uki/a.efi"},
                                  {"52-54-00-aa-00-02", "/site/exports/uki/b.efi"}}));
  EXPECT_EQ(link_of(root.path() + "/52-54-00-aa-00-01/goldroot.efi"), "/site/exports/uki/a.efi");
  EXPECT_EQ(link_of(root.path() + "/52-54-00-aa-00-02/goldroot.efi"), "/site/exports/uki/b.efi");
}

TEST(MacBootFilesTest, AChangedTargetReplacesTheLinkAndGoneMacsAreRemoved) {
  testing::TempDir root;
  ::mkdir((root.path() + "/grub").c_str(), 0755);
  std::ofstream(root.path() + "/ipxe.efi") << "loader";
  ASSERT_OK(write_mac_boot_files(root.path(), "goldroot.efi",
                                 {{"52:54:00:aa:00:01", "/a.efi"}, {"52:54:00:aa:00:02", "/b.efi"}}));
  ASSERT_OK(write_mac_boot_files(root.path(), "goldroot.efi", {{"52:54:00:aa:00:01", "/c.efi"}}));
  EXPECT_EQ(link_of(root.path() + "/52-54-00-aa-00-01/goldroot.efi"), "/c.efi");
  EXPECT_FALSE(exists(root.path() + "/52-54-00-aa-00-02"));
  EXPECT_FALSE(exists(root.path() + "/52-54-00-aa-00-01/goldroot.efi.tmp"));
  // What is not a per-MAC directory stays.
  EXPECT_TRUE(exists(root.path() + "/grub"));
  EXPECT_TRUE(exists(root.path() + "/ipxe.efi"));
}

TEST(MacBootFilesTest, BadInputIsOneSentenceAndWritesNothing) {
  testing::TempDir root;
  auto bad_mac = write_mac_boot_files(root.path(), "goldroot.efi", {{"52:54:00", "/a.efi"}});
  ASSERT_FALSE(bad_mac.ok());
  EXPECT_EQ(bad_mac.error().code, ErrorCode::kInvalidArgument);
  for (const char* name : {"", "../x.efi", "a/b.efi", ".hidden"}) {
    auto bad_name = write_mac_boot_files(root.path(), name, {{"52:54:00:aa:00:01", "/a.efi"}});
    ASSERT_FALSE(bad_name.ok()) << name;
  }
  EXPECT_FALSE(exists(root.path() + "/52-54-00-aa-00-01"));
}

}  // namespace
}  // namespace goldroot::netboot

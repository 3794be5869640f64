// The library API the client agent calls (read_changes with a directory
// lower, counts, dirty, summary) against a real overlayfs mount; and
// whiteout detection with both whiteout forms. Needs root (mount).
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <cstring>
#include <unistd.h>

#include "base/testing/testing.h"
#include "overlay/changes.h"
#include "overlay/upper_tree.h"

namespace goldroot {
namespace {

using testing::run;
using testing::TempDir;
using testing::write_file;

class ChangesRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount overlayfs";
    write_file(temp_ / "lower/etc/fstab", "proc /proc proc defaults 0 0\n");
    write_file(temp_ / "lower/etc/motd", "hello\n");
    write_file(temp_ / "lower/var/log/syslog", "boot\n");
    write_file(temp_ / "lower/usr/share/doc/a", "a\n");
    ASSERT_EQ(::mkdir((temp_ / "upper").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((temp_ / "work").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((temp_ / "merged").c_str(), 0755), 0);
  }
  void mount_overlay(const std::string& extra = "") {
    std::string options = "lowerdir=" + temp_ / "lower" + ",upperdir=" + temp_ / "upper" +
                          ",workdir=" + temp_ / "work" + extra;
    ASSERT_EQ(::mount("overlay", (temp_ / "merged").c_str(), "overlay", 0, options.c_str()), 0)
        << "mount overlay: " << std::strerror(errno);
    mounted_ = true;
  }
  void unmount() {
    ASSERT_EQ(::umount((temp_ / "merged").c_str()), 0);
    mounted_ = false;
  }
  void TearDown() override {
    if (mounted_) ::umount2((temp_ / "merged").c_str(), MNT_DETACH);
  }
  Result<ChangeSet> changes(const IgnoreList& ignore = IgnoreList::defaults()) {
    auto lower = TRY(DirectoryLower::open(temp_ / "lower"));
    return read_changes(*lower, temp_ / "upper", ignore);
  }

  TempDir temp_;
  bool mounted_ = false;
};

TEST_F(ChangesRootTest, AnEmptyUpperIsClean) {
  ASSERT_OK_AND_ASSIGN(ChangeSet set, changes());
  EXPECT_FALSE(set.dirty());
  EXPECT_TRUE(set.changes.empty());
  EXPECT_EQ(set.summary(), "no changes");
}

TEST_F(ChangesRootTest, CountsDirtyAndIgnored) {
  mount_overlay(",redirect_dir=on");
  ASSERT_EQ(run("cd " + temp_ / "merged" + " && echo '# x' >> etc/fstab && rm etc/motd && "
                "echo more >> var/log/syslog && mv usr/share/doc usr/share/doc2 && "
                "echo new > etc/new"),
            0);
  unmount();
  ASSERT_OK_AND_ASSIGN(ChangeSet set, changes());
  EXPECT_TRUE(set.dirty());
  EXPECT_EQ(set.count(Change::Kind::kModified), 1u);
  EXPECT_EQ(set.count(Change::Kind::kDeleted), 1u);
  EXPECT_EQ(set.count(Change::Kind::kAdded), 1u);
  EXPECT_EQ(set.count(Change::Kind::kRenamed), 1u);
  EXPECT_EQ(set.ignored, 1u);  // /var/log/syslog
  EXPECT_EQ(set.summary(), "1 added, 1 modified, 1 deleted, 1 renamed (1 ignored)");
  EXPECT_GT(set.upper_bytes, 0u);
  bool saw_rename = false;
  for (const Change& change : set.changes)
    if (change.kind == Change::Kind::kRenamed) {
      saw_rename = true;
      EXPECT_EQ(change.path, "/usr/share/doc2");
      EXPECT_EQ(change.from, "/usr/share/doc");
    }
  EXPECT_TRUE(saw_rename);

  // Only noise left: clean.
  ASSERT_EQ(run("rm -rf " + temp_ / "upper/etc" + " " + temp_ / "upper/usr"), 0);
  ASSERT_OK_AND_ASSIGN(ChangeSet noise, changes());
  EXPECT_FALSE(noise.dirty());
  EXPECT_EQ(noise.ignored, 1u);
  ASSERT_OK_AND_ASSIGN(ChangeSet strict, changes(IgnoreList()));
  EXPECT_TRUE(strict.dirty());
}

TEST_F(ChangesRootTest, BothWhiteoutFormsAndOpaqueX) {
  // A classic whiteout, and an xwhiteout in a dir marked opaque="x" — which
  // is not opaque: the lower's other entries still show.
  ASSERT_EQ(::mkdir((temp_ / "upper/etc").c_str(), 0755), 0);
  ASSERT_EQ(::mknod((temp_ / "upper/etc/fstab").c_str(), S_IFCHR | 0, ::makedev(0, 0)), 0);
  write_file(temp_ / "upper/etc/motd", "");
  ASSERT_EQ(run("setfattr -n trusted.overlay.whiteout -v '' " + temp_ / "upper/etc/motd" +
                " && setfattr -n trusted.overlay.opaque -v x " + temp_ / "upper/etc"),
            0);
  ASSERT_OK_AND_ASSIGN(ChangeSet set, changes(IgnoreList()));
  ASSERT_EQ(set.changes.size(), 2u);
  EXPECT_EQ(set.changes[0].path, "/etc/fstab");
  EXPECT_EQ(set.changes[0].kind, Change::Kind::kDeleted);
  EXPECT_EQ(set.changes[1].path, "/etc/motd");
  EXPECT_EQ(set.changes[1].kind, Change::Kind::kDeleted);

  // Without the dir's marker the zero-size file is just a file (kernel rule).
  ASSERT_EQ(run("setfattr -x trusted.overlay.opaque " + temp_ / "upper/etc"), 0);
  ASSERT_OK_AND_ASSIGN(ChangeSet unmarked, changes(IgnoreList()));
  ASSERT_EQ(unmarked.changes.size(), 2u);
  EXPECT_EQ(unmarked.changes[1].kind, Change::Kind::kModified);
}

TEST_F(ChangesRootTest, PrivateXattrsAreNotReported) {
  mount_overlay();
  ASSERT_EQ(run("chmod 600 " + temp_ / "merged/etc/motd"), 0);  // copy-up adds trusted.overlay.*
  unmount();
  ASSERT_OK_AND_ASSIGN(ChangeSet set, changes());
  ASSERT_EQ(set.changes.size(), 1u);
  EXPECT_EQ(set.changes[0].fields, std::vector<std::string>{"mode"});
}

TEST_F(ChangesRootTest, MissingUpperIsOneSentence) {
  auto lower = DirectoryLower::open(temp_ / "lower");
  ASSERT_OK(lower);
  auto set = read_changes(**lower, temp_ / "nowhere", IgnoreList());
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().message, "the upper dir " + temp_ / "nowhere" + " does not exist");
}

}  // namespace
}  // namespace goldroot

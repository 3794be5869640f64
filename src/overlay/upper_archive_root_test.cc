// An upper dir the kernel wrote (through a real overlay mount, with
// redirect_dir and metacopy on) goes through UpperArchive and
// unpack_upper_archive and comes out the same, entry for entry, raw
// overlay xattrs and whiteouts included. Needs root (mount, trusted.*).
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <fcntl.h>
#include <map>
#include <random>

#include "base/testing/testing.h"
#include "image/fs_entry.h"
#include "overlay/upper_archive.h"
#include "overlay/upper_unpack.h"
#include "sys/directory.h"

namespace goldroot {
namespace {

using testing::TempDir;
using testing::write_file;

struct Seen {
  Entry entry;
  ino_t inode;
};

// Every object below `dir` with its raw metadata, by relative path.
void collect(int dir_fd, const std::string& path, std::map<std::string, Seen>* out) {
  auto names = read_directory(dir_fd, path);
  ASSERT_TRUE(names.ok());
  for (const std::string& name : *names) {
    struct stat st;
    ASSERT_EQ(::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW), 0);
    auto entry = read_entry(dir_fd, name, st, name);
    ASSERT_TRUE(entry.ok()) << entry.error().message;
    std::string child = path.empty() ? name : path + "/" + name;
    (*out)[child] = {*entry, st.st_ino};
    if (S_ISDIR(st.st_mode)) {
      int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      ASSERT_GE(fd, 0);
      collect(fd, child, out);
      ::close(fd);
    }
  }
}

std::map<std::string, Seen> tree_of(const std::string& dir) {
  std::map<std::string, Seen> out;
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  collect(fd, "", &out);
  ::close(fd);
  return out;
}

class UpperArchiveRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount overlayfs";
    write_file(temp_ / "lower/etc/fstab", "proc /proc proc defaults 0 0\n");
    write_file(temp_ / "lower/etc/big", std::string(300000, 'b'));
    write_file(temp_ / "lower/usr/share/doc/a", "a\n");
    write_file(temp_ / "lower/opt/old/x", "x\n");
    write_file(temp_ / "lower/srv/moved/y", "y\n");
    for (const char* dir : {"upper", "work", "merged", "unpacked"})
      ASSERT_EQ(::mkdir((temp_ / dir).c_str(), 0755), 0);
  }
  void TearDown() override {
    if (mounted_) ::umount2((temp_ / "merged").c_str(), MNT_DETACH);
  }

  TempDir temp_;
  bool mounted_ = false;
};

TEST_F(UpperArchiveRootTest, AKernelWrittenUpperSurvivesArchiveAndUnpack) {
  std::string options = "lowerdir=" + temp_ / "lower" + ",upperdir=" + temp_ / "upper" +
                        ",workdir=" + temp_ / "work" + ",redirect_dir=on,metacopy=on";
  ASSERT_EQ(::mount("overlay", (temp_ / "merged").c_str(), "overlay", 0, options.c_str()), 0)
      << std::strerror(errno);
  mounted_ = true;
  const std::string merged = temp_ / "merged";
  write_file(merged + "/etc/motd", "new\n");
  write_file(merged + "/newtop/data", "x");
  write_file(merged + "/var/lib/data.bin", std::string(1 << 20, 'd'));
  ASSERT_EQ(::chmod((merged + "/etc/big").c_str(), 0600), 0);  // metacopy: no data copied
  ASSERT_EQ(::unlink((merged + "/etc/fstab").c_str()), 0);     // whiteout
  ASSERT_EQ(std::system(("rm -rf " + merged + "/opt/old && mkdir " + merged + "/opt/old").c_str()), 0);
  ASSERT_EQ(::rename((merged + "/srv/moved").c_str(), (merged + "/srv/renamed").c_str()), 0);
  ASSERT_EQ(::link((merged + "/etc/motd").c_str(), (merged + "/etc/motd.link").c_str()), 0);
  ASSERT_EQ(::symlink("../usr/share/doc/a", (merged + "/etc/doc").c_str()), 0);
  ASSERT_EQ(::mkfifo((merged + "/etc/fifo").c_str(), 0640), 0);
  ASSERT_EQ(::mknod((merged + "/etc/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  std::string long_name = merged + "/var/lib/" + std::string(120, 'n');
  write_file(long_name, "long\n");
  ASSERT_EQ(::chown(long_name.c_str(), 3000000, 4000000), 0);  // beyond ustar's octal fields
  ASSERT_EQ(::setxattr((merged + "/etc/motd").c_str(), "user.note", "x\0y", 3, 0), 0);
  ASSERT_EQ(::umount((temp_ / "merged").c_str()), 0);
  mounted_ = false;

  ASSERT_OK_AND_ASSIGN(UpperArchive archive,
                       UpperArchive::open(temp_ / "upper", XattrNamespace::kTrusted));
  // Read in pieces of every size, as curl asks.
  std::string tar;
  std::mt19937 random(7);
  std::vector<char> buffer(70000);
  while (true) {
    ASSERT_OK_AND_ASSIGN(size_t got, archive.read(buffer.data(), 1 + random() % buffer.size()));
    if (got == 0) break;
    tar.append(buffer.data(), got);
  }
  EXPECT_EQ(tar.size() % 512, 0u);
  EXPECT_TRUE(archive.stats().changed_while_read.empty());
  // The metacopy file carries no bytes: under 300 kB of data in all.
  EXPECT_LT(archive.stats().file_bytes, (1u << 20) + 100000);
  write_file(temp_ / "upper.tar", tar);
  // GNU tar reads it too, without a complaint.
  EXPECT_EQ(std::system(("tar --xattrs -tvf " + temp_ / "upper.tar" + " >" + temp_ / "list 2>&1")
                            .c_str()),
            0)
      << testing::read_file(temp_ / "list");
  ASSERT_OK_AND_ASSIGN(uint64_t members, unpack_upper_archive(temp_ / "upper.tar", temp_ / "unpacked"));
  EXPECT_EQ(members, archive.stats().entries);

  // The root dir's own metadata too (a new top-level entry changed its mtime).
  struct stat upper_root, unpacked_root;
  ASSERT_EQ(::stat((temp_ / "upper").c_str(), &upper_root), 0);
  ASSERT_EQ(::stat((temp_ / "unpacked").c_str(), &unpacked_root), 0);
  EXPECT_EQ(upper_root.st_mtim.tv_sec, unpacked_root.st_mtim.tv_sec);
  EXPECT_EQ(upper_root.st_mtim.tv_nsec, unpacked_root.st_mtim.tv_nsec);
  EXPECT_EQ(upper_root.st_mode, unpacked_root.st_mode);
  auto before = tree_of(temp_ / "upper");
  auto after = tree_of(temp_ / "unpacked");
  ASSERT_EQ(before.size(), after.size());
  bool saw_whiteout = false, saw_metacopy = false, saw_redirect = false, saw_opaque = false;
  std::map<ino_t, ino_t> links;  // upper inode -> unpacked inode
  for (const auto& [path, seen] : before) {
    ASSERT_TRUE(after.count(path)) << path;
    Entry want = seen.entry, got = after[path].entry;
    bool metacopy = false;
    for (const auto& [name, value] : want.xattrs) {
      metacopy |= name == "trusted.overlay.metacopy";
      saw_redirect |= name == "trusted.overlay.redirect";
      saw_opaque |= name == "trusted.overlay.opaque";
    }
    saw_metacopy |= metacopy;
    saw_whiteout |= want.type == FileType::kCharDevice && want.rdev == 0;
    if (metacopy) want.size = 0;
    EXPECT_EQ(want, got) << path;
    if (want.type == FileType::kRegular) {
      auto [found, fresh] = links.try_emplace(seen.inode, after[path].inode);
      EXPECT_EQ(found->second, after[path].inode) << path << " lost its hard link";
    }
  }
  EXPECT_TRUE(saw_whiteout && saw_metacopy && saw_redirect && saw_opaque);
  EXPECT_EQ(testing::read_file(temp_ / "unpacked/var/lib/data.bin"), std::string(1 << 20, 'd'));
}

TEST_F(UpperArchiveRootTest, AnArchiveReachingOutsideIsRefused) {
  write_file(temp_ / "evil/x", "x\n");
  ASSERT_EQ(std::system(("tar -C " + temp_ / "evil" + " -cf " + temp_ / "evil.tar" +
                         " --transform 's,^x,../escaped,' x").c_str()),
            0);
  auto unpacked = unpack_upper_archive(temp_ / "evil.tar", temp_ / "unpacked");
  ASSERT_FALSE(unpacked.ok());
  EXPECT_EQ(unpacked.error().code, ErrorCode::kCorruption);
  EXPECT_NE(unpacked.error().message.find("outside the upper"), std::string::npos);
  EXPECT_NE(::access((temp_ / "escaped").c_str(), F_OK), 0);
  // Garbage, and an archive cut off in a member's data, are one sentence too.
  write_file(temp_ / "junk.tar", std::string(700, 'z'));
  EXPECT_EQ(unpack_upper_archive(temp_ / "junk.tar", temp_ / "unpacked").error().code,
            ErrorCode::kCorruption);
  write_file(temp_ / "whole/data", std::string(5000, 'd'));
  ASSERT_EQ(std::system(("tar -C " + temp_ / "whole" + " -cf " + temp_ / "whole.tar data").c_str()), 0);
  write_file(temp_ / "cut.tar", testing::read_file(temp_ / "whole.tar").substr(0, 2048));
  ASSERT_EQ(::mkdir((temp_ / "cut").c_str(), 0755), 0);
  auto cut = unpack_upper_archive(temp_ / "cut.tar", temp_ / "cut");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code, ErrorCode::kCorruption) << cut.error().message;
}

}  // namespace
}  // namespace goldroot

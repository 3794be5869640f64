// open_beneath reads lower and imported trees, which hold symlinks such as
// /lib -> usr/lib that are meaningful only inside the booted image: no
// path, symlink or ".." may lead a lookup outside the tree's root.
#include "sys/open_beneath.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

using testing::TempDir;
using testing::write_file;

std::string read_all(int fd) {
  std::string data;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) data.append(buffer, static_cast<size_t>(n));
  return data;
}

class OpenBeneathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = temp_ / "root";
    write_file(root_ + "/etc/fstab", "inside");
    write_file(root_ + "/usr/lib/os-release", "inside os-release");
    write_file(temp_ / "outside/secret", "outside");
    // Symlinks a real root filesystem holds, and ones an attacker might plant.
    ASSERT_EQ(::symlink("../outside", (root_ + "/escape").c_str()), 0);
    ASSERT_EQ(::symlink((temp_ / "outside").c_str(), (root_ + "/absolute").c_str()), 0);
    ASSERT_EQ(::symlink("/etc", (root_ + "/hostetc").c_str()), 0);
    ASSERT_EQ(::symlink("usr/lib", (root_ + "/lib").c_str()), 0);
    ASSERT_EQ(::symlink("fstab", (root_ + "/etc/fstab.link").c_str()), 0);
    root_fd_.reset(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_.valid());
  }

  // Asserts `path` cannot be opened below the root, with the sentence the
  // user reads.
  void expect_refused(const std::string& path, int flags = O_RDONLY) {
    SCOPED_TRACE(path);
    auto opened = open_beneath(root_fd_.get(), path, flags, "/" + path);
    ASSERT_FALSE(opened.ok()) << "opened " << path << " outside the rules";
    EXPECT_EQ(opened.error().code, ErrorCode::kNotFound);
    EXPECT_EQ(opened.error().message, "/" + path + " does not exist");
  }

  TempDir temp_;
  std::string root_;
  UniqueFd root_fd_;
};

TEST_F(OpenBeneathTest, OpensAFileBelowTheRoot) {
  ASSERT_OK_AND_ASSIGN(UniqueFd fd,
                       open_beneath(root_fd_.get(), "etc/fstab", O_RDONLY, "/etc/fstab"));
  EXPECT_EQ(read_all(fd.get()), "inside");
}

TEST_F(OpenBeneathTest, EmptyPathOpensTheRootItself) {
  ASSERT_OK_AND_ASSIGN(UniqueFd fd, open_beneath(root_fd_.get(), "", O_RDONLY | O_DIRECTORY, "/"));
  struct stat opened, root;
  ASSERT_EQ(::fstat(fd.get(), &opened), 0);
  ASSERT_EQ(::fstat(root_fd_.get(), &root), 0);
  EXPECT_EQ(opened.st_ino, root.st_ino);
  EXPECT_EQ(opened.st_dev, root.st_dev);
}

TEST_F(OpenBeneathTest, OpenedFdIsCloseOnExec) {
  ASSERT_OK_AND_ASSIGN(UniqueFd fd,
                       open_beneath(root_fd_.get(), "etc/fstab", O_RDONLY, "/etc/fstab"));
  EXPECT_TRUE(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC);
}

TEST_F(OpenBeneathTest, RefusesARelativeSymlinkThatLeavesTheRoot) {
  expect_refused("escape/secret");
}

TEST_F(OpenBeneathTest, RefusesAbsoluteSymlinks) {
  // Either would resolve on the host: to the outside directory, or to the
  // host's own /etc/passwd.
  expect_refused("absolute/secret");
  expect_refused("hostetc/passwd");
}

TEST_F(OpenBeneathTest, RefusesDotDotEscapes) {
  expect_refused("../outside/secret");
  expect_refused("etc/../../outside/secret");
  expect_refused("usr/lib/../../../outside/secret");
}

TEST_F(OpenBeneathTest, RefusesAnAbsolutePath) { expect_refused("/etc/passwd"); }

TEST_F(OpenBeneathTest, AllowsDotDotThatStaysInside) {
  ASSERT_OK_AND_ASSIGN(UniqueFd fd,
                       open_beneath(root_fd_.get(), "usr/../etc/./fstab", O_RDONLY, "/etc/fstab"));
  EXPECT_EQ(read_all(fd.get()), "inside");
}

TEST_F(OpenBeneathTest, NeverFollowsEvenASymlinkThatStaysInside) {
  // The header's contract: no symlink is resolved at all, because an
  // image's symlinks are resolved only when it is booted.
  expect_refused("lib/os-release");
  expect_refused("etc/fstab.link");
}

TEST_F(OpenBeneathTest, OpensTheSymlinkItselfWithOPathAndNoFollow) {
  ASSERT_OK_AND_ASSIGN(UniqueFd fd, open_beneath(root_fd_.get(), "etc/fstab.link",
                                                 O_PATH | O_NOFOLLOW, "/etc/fstab.link"));
  struct stat st;
  ASSERT_EQ(::fstat(fd.get(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(OpenBeneathTest, MissingOrNonDirectoryComponentsAreNotFound) {
  expect_refused("etc/missing");
  expect_refused("etc/fstab/below-a-file");
  expect_refused("etc/fstab", O_RDONLY | O_DIRECTORY);
}

TEST_F(OpenBeneathTest, OtherFailuresKeepTheirErrno) {
  auto opened = open_beneath(root_fd_.get(), "etc", O_WRONLY, "/etc");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().sys_errno, EISDIR);
  EXPECT_EQ(opened.error().message, "opening /etc: Is a directory");
}

}  // namespace
}  // namespace goldroot

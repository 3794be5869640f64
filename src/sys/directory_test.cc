// read_directory lists a directory by fd for the tree walks (import,
// changes): every entry once, sorted, whatever the fd's offset.
#include "sys/directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "base/testing/testing.h"
#include "sys/unique_fd.h"

namespace goldroot {
namespace {

using testing::TempDir;
using testing::write_file;

UniqueFd open_directory(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

TEST(ReadDirectory, ListsEveryKindOfEntrySortedWithoutDots) {
  TempDir temp;
  write_file(temp / "b", "");
  write_file(temp / "a", "");
  write_file(temp / "C", "");
  ASSERT_EQ(::mkdir((temp / "d").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("missing", (temp / ".hidden-link").c_str()), 0);
  UniqueFd fd = open_directory(temp.path());
  ASSERT_TRUE(fd.valid());
  ASSERT_OK_AND_ASSIGN(auto names, read_directory(fd.get(), temp.path()));
  EXPECT_EQ(names, (std::vector<std::string>{".hidden-link", "C", "a", "b", "d"}));
}

TEST(ReadDirectory, EmptyDirectoryHasNoNames) {
  TempDir temp;
  UniqueFd fd = open_directory(temp.path());
  ASSERT_OK_AND_ASSIGN(auto names, read_directory(fd.get(), temp.path()));
  EXPECT_TRUE(names.empty());
}

TEST(ReadDirectory, ReadsFromTheStartEachTime) {
  TempDir temp;
  write_file(temp / "one", "");
  write_file(temp / "two", "");
  UniqueFd fd = open_directory(temp.path());
  ASSERT_OK_AND_ASSIGN(auto first, read_directory(fd.get(), temp.path()));
  ASSERT_OK_AND_ASSIGN(auto second, read_directory(fd.get(), temp.path()));
  EXPECT_EQ(first, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(second, first);
}

TEST(ReadDirectory, ListsADirectoryLargerThanOneBuffer) {
  // 4000 entries with long names take several getdents64 calls.
  TempDir temp;
  std::vector<std::string> expected;
  for (int i = 0; i < 4000; ++i) {
    char name[80];
    std::snprintf(name, sizeof name, "%05d-a-rather-long-file-name-to-fill-the-buffer-sooner", i);
    expected.push_back(name);
    UniqueFd made(::open((temp / name).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    ASSERT_TRUE(made.valid());
  }
  UniqueFd fd = open_directory(temp.path());
  ASSERT_OK_AND_ASSIGN(auto names, read_directory(fd.get(), temp.path()));
  EXPECT_EQ(names, expected);
}

TEST(ReadDirectory, AFileIsNotADirectory) {
  TempDir temp;
  write_file(temp / "file", "x");
  UniqueFd fd(::open((temp / "file").c_str(), O_RDONLY | O_CLOEXEC));
  auto names = read_directory(fd.get(), "/file");
  ASSERT_FALSE(names.ok());
  EXPECT_EQ(names.error().sys_errno, ENOTDIR);
  EXPECT_EQ(names.error().message, "listing /file: Not a directory");
}

}  // namespace
}  // namespace goldroot

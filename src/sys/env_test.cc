// PosixEnv and the Env helpers every durable write goes through. Readers
// (the boot server, the next command) trust a file under its final name, so
// write_file_atomic, publish_file and copy_file_atomic must replace it whole
// or not at all; the crash tests at the end prove it with the
// fault-injecting Env.
#include "sys/env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/testing/testing.h"
#include "sys/fault_injection_env.h"

namespace goldroot {
namespace {

using testing::TempDir;
using testing::write_file;

std::string read_fd(int fd) {
  std::string data;
  char buffer[4096];
  ssize_t n;
  while ((n = ::pread(fd, buffer, sizeof buffer, static_cast<off_t>(data.size()))) > 0)
    data.append(buffer, static_cast<size_t>(n));
  return data;
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// Bytes with every value, NULs included, and an odd length.
std::string binary_data(size_t size) {
  std::string data(size, '\0');
  uint32_t state = 12345;
  for (char& c : data) {
    state = state * 1103515245 + 12345;
    c = static_cast<char>(state >> 24);
  }
  return data;
}

TEST(Paths, DirnameOf) {
  EXPECT_EQ(dirname_of("/srv/site/site.json"), "/srv/site");
  EXPECT_EQ(dirname_of("store/objects/ab"), "store/objects");
  EXPECT_EQ(dirname_of("/site.json"), "/");
  EXPECT_EQ(dirname_of("site.json"), ".");
}

TEST(Paths, BasenameOf) {
  EXPECT_EQ(basename_of("/usr/lib/x86_64-linux-gnu/libc.so.6"), "libc.so.6");
  EXPECT_EQ(basename_of("vmlinuz"), "vmlinuz");
  EXPECT_EQ(basename_of("/vmlinuz"), "vmlinuz");
}

TEST(Paths, JoinPathPutsExactlyOneSlashBetween) {
  EXPECT_EQ(join_path("/srv/site", "layers"), "/srv/site/layers");
  EXPECT_EQ(join_path("/srv/site/", "layers"), "/srv/site/layers");
  EXPECT_EQ(join_path("/", "etc"), "/etc");
  EXPECT_EQ(join_path("", "etc"), "etc");
  EXPECT_EQ(join_path("/srv", ""), "/srv");
}

class PosixEnvTest : public ::testing::Test {
 protected:
  TempDir temp_;
  PosixEnv env_;
};

TEST_F(PosixEnvTest, WriteFileAtomicWritesAndLeavesNoTemporary) {
  std::string path = temp_ / "site.json";
  ASSERT_OK(env_.write_file_atomic(path, "{\"goldroot_site\": 1}\n"));
  EXPECT_EQ(testing::read_file(path), "{\"goldroot_site\": 1}\n");
  ASSERT_OK_AND_ASSIGN(auto names, env_.list_dir(temp_.path()));
  EXPECT_EQ(names, std::vector<std::string>{"site.json"});
}

TEST_F(PosixEnvTest, WriteFileAtomicReplacesTheFileInsteadOfRewritingIt) {
  // A reader that opened the old file keeps reading all of it: the new one
  // is a different file renamed over the name, never the old one truncated.
  std::string path = temp_ / "site.json";
  write_file(path, "old contents");
  UniqueFd reader(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(reader.valid());
  ASSERT_OK(env_.write_file_atomic(path, "new"));
  EXPECT_EQ(read_fd(reader.get()), "old contents");
  EXPECT_EQ(testing::read_file(path), "new");
  EXPECT_FALSE(path_exists(path + ".tmp"));
}

TEST_F(PosixEnvTest, WriteFileAtomicIntoAMissingDirectoryIsNotFound) {
  Status written = env_.write_file_atomic(temp_ / "missing/site.json", "x");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code, ErrorCode::kNotFound);
}

// A failed write_file_atomic leaves no temporary behind.
TEST_F(PosixEnvTest, WriteFileAtomicRemovesItsTemporaryOnFailure) {
  std::string path = temp_ / "taken";
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
  write_file(path + "/inside", "x");  // rename(2) cannot replace a non-empty directory
  EXPECT_FALSE(env_.write_file_atomic(path, "data").ok());
  EXPECT_FALSE(path_exists(path + ".tmp"));
}

TEST_F(PosixEnvTest, PublishFileGivesTheTemporaryItsFinalName) {
  std::string temporary = temp_ / "image.erofs.tmp", path = temp_ / "image.erofs";
  write_file(path, "old");
  write_file(temporary, "new image");
  ASSERT_OK(env_.publish_file(temporary, path));
  EXPECT_EQ(testing::read_file(path), "new image");
  EXPECT_FALSE(path_exists(temporary));
}

TEST_F(PosixEnvTest, PublishFileRemovesTheTemporaryOnFailure) {
  std::string temporary = temp_ / "image.erofs.tmp";
  write_file(temporary, "new image");
  Status published = env_.publish_file(temporary, temp_ / "missing/image.erofs");
  ASSERT_FALSE(published.ok());
  EXPECT_EQ(published.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(path_exists(temporary));
}

TEST_F(PosixEnvTest, CopyFileAtomicCopiesExactly) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{65537}, (size_t{3} << 20) + 7}) {
    SCOPED_TRACE(std::to_string(size) + " bytes");
    std::string from = temp_ / "from", to = temp_ / "to";
    std::string data = binary_data(size);
    write_file(from, data);
    ASSERT_OK(env_.copy_file_atomic(from, to));
    ASSERT_OK_AND_ASSIGN(std::string copied, env_.read_file(to));
    EXPECT_EQ(copied.size(), data.size());
    EXPECT_TRUE(copied == data) << "contents differ";
    EXPECT_FALSE(path_exists(to + ".tmp"));
    EXPECT_EQ(testing::read_file(from), data) << "the source changed";
  }
}

TEST_F(PosixEnvTest, CopyFileAtomicReplacesTheDestinationInsteadOfRewritingIt) {
  std::string from = temp_ / "from", to = temp_ / "to";
  write_file(from, "new");
  write_file(to, "old contents");
  UniqueFd reader(::open(to.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_OK(env_.copy_file_atomic(from, to));
  EXPECT_EQ(read_fd(reader.get()), "old contents");
  EXPECT_EQ(testing::read_file(to), "new");
}

TEST_F(PosixEnvTest, CopyFileAtomicFromAMissingSourceLeavesTheDestinationAlone) {
  std::string to = temp_ / "to";
  write_file(to, "old");
  Status copied = env_.copy_file_atomic(temp_ / "missing", to);
  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(testing::read_file(to), "old");
  EXPECT_FALSE(path_exists(to + ".tmp"));
}

TEST_F(PosixEnvTest, ReadFileReturnsTheBytesExactly) {
  std::string data = binary_data(200000);
  write_file(temp_ / "data", data);
  ASSERT_OK_AND_ASSIGN(std::string read, env_.read_file(temp_ / "data"));
  EXPECT_TRUE(read == data);
}

TEST_F(PosixEnvTest, ReadingAMissingFileIsNotFound) {
  std::string path = temp_ / "missing";
  auto read = env_.read_file(path);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(read.error().sys_errno, ENOENT);
  EXPECT_EQ(read.error().message, "reading " + path + ": No such file or directory");

  auto opened = env_.open_for_reading(path);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::kNotFound);
}

TEST_F(PosixEnvTest, NewWritableFileTruncatesAndCountsItsSize) {
  std::string path = temp_ / "file";
  write_file(path, "a much longer old file");
  ASSERT_OK_AND_ASSIGN(auto file, env_.new_writable_file(path));
  ASSERT_OK(file->append("abc"));
  ASSERT_OK(file->append(std::string_view("d\0e", 3)));
  EXPECT_EQ(file->size(), 6u);
  ASSERT_OK(file->sync());
  ASSERT_OK(file->close());
  EXPECT_EQ(testing::read_file(path), std::string("abcd\0e", 6));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST_F(PosixEnvTest, ListDirIsSortedAndMissingIsNotFound) {
  write_file(temp_ / "b", "");
  write_file(temp_ / "a", "");
  ASSERT_OK(env_.create_dir(temp_ / "c"));
  ASSERT_OK_AND_ASSIGN(auto names, env_.list_dir(temp_.path()));
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c"}));
  auto missing = env_.list_dir(temp_ / "missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(PosixEnvTest, CreateDirAcceptsAnExistingDirectory) {
  ASSERT_OK(env_.create_dir(temp_ / "store"));
  ASSERT_OK(env_.create_dir(temp_ / "store"));
  EXPECT_TRUE(env_.exists(temp_ / "store"));
  Status nested = env_.create_dir(temp_ / "missing/store");
  ASSERT_FALSE(nested.ok());
  EXPECT_EQ(nested.error().code, ErrorCode::kNotFound);
}

// create_dir refuses a file in the way instead of calling it a directory.
TEST_F(PosixEnvTest, CreateDirRefusesAFileInTheWay) {
  write_file(temp_ / "store", "not a directory");
  EXPECT_FALSE(env_.create_dir(temp_ / "store").ok());
}

TEST_F(PosixEnvTest, ExistsSeesSymlinksThemselves) {
  EXPECT_FALSE(env_.exists(temp_ / "missing"));
  ASSERT_EQ(::symlink("missing", (temp_ / "dangling").c_str()), 0);
  EXPECT_TRUE(env_.exists(temp_ / "dangling"));
}

TEST(ReadFileNoFollow, RefusesASymlink) {
  TempDir temp;
  write_file(temp / "real", "secret");
  ASSERT_EQ(::symlink((temp / "real").c_str(), (temp / "link").c_str()), 0);
  auto read = read_file_no_follow(temp / "link");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().sys_errno, ELOOP);
  EXPECT_EQ(read.error().message,
            "reading " + temp / "link" + ": Too many levels of symbolic links");
  ASSERT_OK_AND_ASSIGN(std::string data, read_file_no_follow(temp / "real"));
  EXPECT_EQ(data, "secret");
}

// Durability, proved with FaultInjectionEnv: after a simulated power cut
// the file under its final name is the old one or the whole new one.

TEST(EnvDurability, PublishFileMakesDataWrittenElsewhereDurable) {
  // A file another writer produced (a tool, a streamed upload) survives only
  // because publish_file fsyncs it before the rename.
  TempDir temp;
  PosixEnv posix;
  for (auto entries : {FaultInjectionEnv::Entries::kDrop, FaultInjectionEnv::Entries::kKeep}) {
    FaultInjectionEnv fault(&posix);
    write_file(temp / "upload.tmp", "whole upload");
    ASSERT_OK(fault.publish_file(temp / "upload.tmp", temp / "upload"));
    ASSERT_OK(fault.drop_unsynced_data(entries));
    EXPECT_EQ(testing::read_file(temp / "upload"), "whole upload");
    EXPECT_FALSE(path_exists(temp / "upload.tmp"));
  }
}

class EnvCrashTest : public ::testing::TestWithParam<FaultInjectionEnv::Entries> {};

// Runs `replace` once per crash point; each time the file at `path`, which
// held "old" durably, must afterwards hold "old" or `expected` — and
// `expected` whenever `replace` reported success.
void expect_old_or_whole_new(const std::string& path, const std::string& expected,
                             FaultInjectionEnv::Entries entries,
                             const std::function<Status(Env&)>& replace) {
  PosixEnv posix;
  int64_t total;
  {
    write_file(path, "old");
    FaultInjectionEnv fault(&posix);
    ASSERT_OK(replace(fault));
    total = fault.operation_count();
  }
  ASSERT_GT(total, 2);
  int saw_old = 0, saw_new = 0;
  for (int64_t crash_point = 0; crash_point <= total; ++crash_point) {
    SCOPED_TRACE("crash after " + std::to_string(crash_point) + " of " + std::to_string(total));
    write_file(path, "old");
    FaultInjectionEnv fault(&posix);
    fault.crash_after(crash_point);
    Status replaced = replace(fault);
    ASSERT_OK(fault.drop_unsynced_data(entries));
    std::string now = testing::read_file(path);
    if (replaced.ok()) {
      EXPECT_EQ(now, expected) << "a reported success did not survive";
    } else {
      EXPECT_TRUE(now == "old" || now == expected) << "found \"" << now << "\"";
    }
    (now == "old" ? saw_old : saw_new)++;
  }
  EXPECT_GT(saw_old, 0);
  EXPECT_GT(saw_new, 0);
}

TEST_P(EnvCrashTest, WriteFileAtomicLeavesTheOldFileOrTheWholeNewOne) {
  TempDir temp;
  expect_old_or_whole_new(temp / "site.json", "new settings", GetParam(), [&](Env& env) {
    return env.write_file_atomic(temp / "site.json", "new settings");
  });
}

TEST_P(EnvCrashTest, CopyFileAtomicLeavesTheOldFileOrTheWholeNewOne) {
  TempDir temp;
  std::string data = binary_data(100000);
  write_file(temp / "source", data);
  expect_old_or_whole_new(temp / "copy", data, GetParam(), [&](Env& env) {
    return env.copy_file_atomic(temp / "source", temp / "copy");
  });
}

INSTANTIATE_TEST_SUITE_P(Entries, EnvCrashTest,
                         ::testing::Values(FaultInjectionEnv::Entries::kDrop,
                                           FaultInjectionEnv::Entries::kKeep),
                         [](const auto& info) {
                           return info.param == FaultInjectionEnv::Entries::kDrop ? "Drop" : "Keep";
                         });

}  // namespace
}  // namespace goldroot

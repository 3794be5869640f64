// FileLock keeps two goldroot commands from changing one site at once. A
// refused command must say who holds the lock; flock(2) locks belong to an
// open file description, so two acquires in one process conflict just as
// two processes would.
#include "sys/file_lock.h"

#include <unistd.h>

#include <optional>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

using testing::TempDir;

class FileLockTest : public ::testing::Test {
 protected:
  std::string lock_path() const { return temp_ / "lock"; }
  std::string holder(const std::string& command) const {
    return "pid " + std::to_string(::getpid()) + ": " + command;
  }
  TempDir temp_;
};

TEST_F(FileLockTest, SecondExclusiveLockIsRefusedNamingTheHolder) {
  ASSERT_OK_AND_ASSIGN(FileLock first,
                       FileLock::acquire(lock_path(), LockMode::kExclusive, "image import"));
  auto second = FileLock::acquire(lock_path(), LockMode::kExclusive, "image gc");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kBusy);
  EXPECT_EQ(second.error().message, "another goldroot command is using this site (" +
                                        holder("image import") +
                                        "); try again when it has finished");
}

TEST_F(FileLockTest, SharedLocksCoexist) {
  ASSERT_OK_AND_ASSIGN(FileLock first,
                       FileLock::acquire(lock_path(), LockMode::kShared, "image list"));
  ASSERT_OK_AND_ASSIGN(FileLock second,
                       FileLock::acquire(lock_path(), LockMode::kShared, "image show"));
}

TEST_F(FileLockTest, ExclusiveAndSharedExcludeEachOther) {
  {
    ASSERT_OK_AND_ASSIGN(FileLock reader,
                         FileLock::acquire(lock_path(), LockMode::kShared, "image list"));
    auto writer = FileLock::acquire(lock_path(), LockMode::kExclusive, "image import");
    ASSERT_FALSE(writer.ok());
    EXPECT_EQ(writer.error().code, ErrorCode::kBusy);
  }
  ASSERT_OK_AND_ASSIGN(FileLock writer,
                       FileLock::acquire(lock_path(), LockMode::kExclusive, "image import"));
  auto reader = FileLock::acquire(lock_path(), LockMode::kShared, "image list");
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.error().code, ErrorCode::kBusy);
  EXPECT_NE(reader.error().message.find(holder("image import")), std::string::npos)
      << reader.error().message;
}

TEST_F(FileLockTest, ReleasedWhenDestroyed) {
  {
    ASSERT_OK_AND_ASSIGN(FileLock lock,
                         FileLock::acquire(lock_path(), LockMode::kExclusive, "image import"));
  }
  EXPECT_OK(FileLock::acquire(lock_path(), LockMode::kExclusive, "image gc"));
}

TEST_F(FileLockTest, MovingKeepsTheLockHeld) {
  std::optional<FileLock> moved;
  {
    ASSERT_OK_AND_ASSIGN(FileLock lock,
                         FileLock::acquire(lock_path(), LockMode::kExclusive, "image import"));
    moved.emplace(std::move(lock));
  }
  EXPECT_FALSE(FileLock::acquire(lock_path(), LockMode::kExclusive, "image gc").ok());
  moved.reset();
  EXPECT_OK(FileLock::acquire(lock_path(), LockMode::kExclusive, "image gc"));
}

TEST_F(FileLockTest, MissingSiteDirectoryIsNotFound) {
  auto lock = FileLock::acquire(temp_ / "no-site/lock", LockMode::kExclusive, "image import");
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().code, ErrorCode::kNotFound);
}

// An exclusive holder clears its name as it lets go: a refusal by a reader
// never names a command that has finished.
TEST_F(FileLockTest, RefusalBySharedHolderDoesNotNameAFinishedCommand) {
  {
    ASSERT_OK_AND_ASSIGN(FileLock finished,
                         FileLock::acquire(lock_path(), LockMode::kExclusive, "image import"));
  }
  ASSERT_OK_AND_ASSIGN(FileLock reader,
                       FileLock::acquire(lock_path(), LockMode::kShared, "image list"));
  auto writer = FileLock::acquire(lock_path(), LockMode::kExclusive, "image gc");
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.error().message.find("image import"), std::string::npos)
      << writer.error().message;
}

}  // namespace
}  // namespace goldroot

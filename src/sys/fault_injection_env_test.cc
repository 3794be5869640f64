// FaultInjectionEnv is the witness for every crash-safety claim: if it
// forgot less than a power cut would, a crash test could pass over code that
// loses data. These tests pin down what it throws away.
#include "sys/fault_injection_env.h"

#include <sys/stat.h>
#include <unistd.h>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

using Entries = FaultInjectionEnv::Entries;
using testing::TempDir;
using testing::write_file;

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

class FaultInjectionEnvTest : public ::testing::Test {
 protected:
  // Writes `data` through the env; syncs the data only if asked.
  enum class SyncData { kNo, kYes };
  void write(const std::string& path, const std::string& data, SyncData sync) {
    ASSERT_OK_AND_ASSIGN(auto file, fault_.new_writable_file(path));
    ASSERT_OK(file->append(data));
    if (sync == SyncData::kYes) ASSERT_OK(file->sync());
    ASSERT_OK(file->close());
  }

  TempDir temp_;
  PosixEnv posix_;
  FaultInjectionEnv fault_{&posix_};
};

TEST_F(FaultInjectionEnvTest, UnsyncedDataIsLost) {
  write(temp_ / "file", "never synced", SyncData::kNo);
  ASSERT_OK(fault_.sync_dir(temp_.path()));  // the entry is durable, its data is not
  ASSERT_OK(fault_.drop_unsynced_data());
  ASSERT_TRUE(path_exists(temp_ / "file"));
  EXPECT_EQ(testing::read_file(temp_ / "file"), "");
}

TEST_F(FaultInjectionEnvTest, SyncedDataSurvivesAndTheUnsyncedTailIsLost) {
  ASSERT_OK_AND_ASSIGN(auto file, fault_.new_writable_file(temp_ / "file"));
  ASSERT_OK(file->append("durable"));
  ASSERT_OK(file->sync());
  ASSERT_OK(file->append(" and lost"));
  ASSERT_OK(file->close());
  ASSERT_OK(fault_.sync_dir(temp_.path()));
  EXPECT_EQ(testing::read_file(temp_ / "file"), "durable and lost");
  ASSERT_OK(fault_.drop_unsynced_data());
  EXPECT_EQ(testing::read_file(temp_ / "file"), "durable");
}

TEST_F(FaultInjectionEnvTest, ANewFileWithoutSyncDirKeepsOnlySyncedDataWithKeep) {
  write(temp_ / "kept", "synced data", SyncData::kYes);
  write(temp_ / "kept-empty", "unsynced data", SyncData::kNo);
  ASSERT_OK(fault_.drop_unsynced_data(Entries::kKeep));
  EXPECT_EQ(testing::read_file(temp_ / "kept"), "synced data");
  ASSERT_TRUE(path_exists(temp_ / "kept-empty"));
  EXPECT_EQ(testing::read_file(temp_ / "kept-empty"), "");
}

// A new file whose directory was never synced is gone after a power cut.
TEST_F(FaultInjectionEnvTest, ANewFileWithoutSyncDirIsGoneWithDrop) {
  write(temp_ / "dropped", "synced data", SyncData::kYes);
  ASSERT_OK(fault_.drop_unsynced_data(Entries::kDrop));
  EXPECT_FALSE(path_exists(temp_ / "dropped"));
}

TEST_F(FaultInjectionEnvTest, RenameWithoutSyncDirIsUndoneWithDrop) {
  write_file(temp_ / "current", "old");  // durable before the env saw it
  write(temp_ / "current.tmp", "new", SyncData::kYes);
  ASSERT_OK(fault_.rename(temp_ / "current.tmp", temp_ / "current"));
  EXPECT_EQ(testing::read_file(temp_ / "current"), "new");
  ASSERT_OK(fault_.drop_unsynced_data(Entries::kDrop));
  EXPECT_EQ(testing::read_file(temp_ / "current"), "old");
}

TEST_F(FaultInjectionEnvTest, RenameWithoutSyncDirPersistsWithKeep) {
  write_file(temp_ / "current", "old");
  write(temp_ / "current.tmp", "new", SyncData::kYes);
  ASSERT_OK(fault_.rename(temp_ / "current.tmp", temp_ / "current"));
  ASSERT_OK(fault_.drop_unsynced_data(Entries::kKeep));
  EXPECT_EQ(testing::read_file(temp_ / "current"), "new");
  EXPECT_FALSE(path_exists(temp_ / "current.tmp"));
}

TEST_F(FaultInjectionEnvTest, RenameFollowedBySyncDirSurvives) {
  write_file(temp_ / "current", "old");
  write(temp_ / "current.tmp", "new", SyncData::kYes);
  ASSERT_OK(fault_.rename(temp_ / "current.tmp", temp_ / "current"));
  ASSERT_OK(fault_.sync_dir(temp_.path()));
  ASSERT_OK(fault_.drop_unsynced_data(Entries::kDrop));
  EXPECT_EQ(testing::read_file(temp_ / "current"), "new");
  EXPECT_FALSE(path_exists(temp_ / "current.tmp"));
}

TEST_F(FaultInjectionEnvTest, SyncDirCoversOnlyItsOwnDirectory) {
  ASSERT_OK(fault_.create_dir(temp_ / "other"));
  write(temp_ / "other/file.tmp", "new", SyncData::kYes);
  ASSERT_OK(fault_.rename(temp_ / "other/file.tmp", temp_ / "other/file"));
  ASSERT_OK(fault_.sync_dir(temp_.path()));  // the parent, not other/
  ASSERT_OK(fault_.drop_unsynced_data(Entries::kDrop));
  EXPECT_FALSE(path_exists(temp_ / "other/file"));
}

TEST_F(FaultInjectionEnvTest, AFileWrittenElsewhereAndRenamedWithoutSyncFileLosesItsData) {
  for (Entries entries : {Entries::kDrop, Entries::kKeep}) {
    write_file(temp_ / "upload.tmp", "streamed upload");
    ASSERT_OK(fault_.rename(temp_ / "upload.tmp", temp_ / "upload"));
    ASSERT_OK(fault_.sync_dir(temp_.path()));
    ASSERT_OK(fault_.drop_unsynced_data(entries));
    ASSERT_TRUE(path_exists(temp_ / "upload"));
    EXPECT_EQ(testing::read_file(temp_ / "upload"), "") << "its data was never synced";
  }
}

TEST_F(FaultInjectionEnvTest, AFileWrittenElsewhereKeepsItsDataWhenSyncedBeforeTheRename) {
  write_file(temp_ / "upload.tmp", "streamed upload");
  ASSERT_OK(fault_.sync_file(temp_ / "upload.tmp"));
  ASSERT_OK(fault_.rename(temp_ / "upload.tmp", temp_ / "upload"));
  ASSERT_OK(fault_.sync_dir(temp_.path()));
  ASSERT_OK(fault_.drop_unsynced_data());
  EXPECT_EQ(testing::read_file(temp_ / "upload"), "streamed upload");
}

TEST_F(FaultInjectionEnvTest, SyncFilesystemMakesEverythingDurable) {
  write(temp_ / "written", "unsynced", SyncData::kNo);
  write(temp_ / "renamed.tmp", "renamed", SyncData::kNo);
  ASSERT_OK(fault_.rename(temp_ / "renamed.tmp", temp_ / "renamed"));
  write_file(temp_ / "tool-output", "from a tool");
  ASSERT_OK(fault_.sync_filesystem(temp_.path()));
  // Written before the syncfs, renamed after: still durable.
  ASSERT_OK(fault_.rename(temp_ / "tool-output", temp_ / "published"));
  ASSERT_OK(fault_.sync_dir(temp_.path()));
  ASSERT_OK(fault_.drop_unsynced_data(Entries::kDrop));
  EXPECT_EQ(testing::read_file(temp_ / "written"), "unsynced");
  EXPECT_EQ(testing::read_file(temp_ / "renamed"), "renamed");
  EXPECT_EQ(testing::read_file(temp_ / "published"), "from a tool");
}

TEST_F(FaultInjectionEnvTest, CopyFileDataIsUnsyncedUntilSynced) {
  write_file(temp_ / "source", "copied bytes");
  ASSERT_OK(fault_.copy_file(temp_ / "source", temp_ / "copy"));
  ASSERT_OK(fault_.copy_file(temp_ / "source", temp_ / "synced-copy"));
  ASSERT_OK(fault_.sync_file(temp_ / "synced-copy"));
  ASSERT_OK(fault_.drop_unsynced_data(Entries::kKeep));
  EXPECT_EQ(testing::read_file(temp_ / "copy"), "");
  EXPECT_EQ(testing::read_file(temp_ / "synced-copy"), "copied bytes");
}

TEST_F(FaultInjectionEnvTest, CrashAfterLetsThatManyOperationsThrough) {
  fault_.crash_after(2);
  EXPECT_OK(fault_.create_dir(temp_ / "a"));
  EXPECT_OK(fault_.create_dir(temp_ / "b"));
  EXPECT_FALSE(fault_.crashed());
  Status third = fault_.create_dir(temp_ / "c");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().message, "simulated crash");
  EXPECT_TRUE(fault_.crashed());
  EXPECT_FALSE(path_exists(temp_ / "c"));
  // Once crashed, nothing more reaches the disk.
  EXPECT_FALSE(fault_.new_writable_file(temp_ / "file").ok());
  EXPECT_FALSE(path_exists(temp_ / "file"));
  EXPECT_EQ(fault_.operation_count(), 4);
  // Dropping unsynced data is the reboot: the env works again.
  ASSERT_OK(fault_.drop_unsynced_data());
  EXPECT_FALSE(fault_.crashed());
  EXPECT_OK(fault_.create_dir(temp_ / "c"));
}

TEST_F(FaultInjectionEnvTest, CrashAfterZeroFailsTheFirstOperation) {
  fault_.crash_after(0);
  EXPECT_FALSE(fault_.create_dir(temp_ / "a").ok());
  EXPECT_TRUE(fault_.crashed());
}

// Undoing a rename leaves the source as durable as it was before it.
TEST_F(FaultInjectionEnvTest, UndoingARenameRestoresADurableSource) {
  write(temp_ / "current.tmp", "new", SyncData::kYes);
  ASSERT_OK(fault_.sync_dir(temp_.path()));
  ASSERT_OK(fault_.rename(temp_ / "current.tmp", temp_ / "current"));
  ASSERT_OK(fault_.drop_unsynced_data(Entries::kDrop));
  EXPECT_FALSE(path_exists(temp_ / "current"));
  ASSERT_TRUE(path_exists(temp_ / "current.tmp"));
  EXPECT_EQ(testing::read_file(temp_ / "current.tmp"), "new");
}

}  // namespace
}  // namespace goldroot

// Crash-safety of `image export`, proved with the fault-injecting Env: the
// export is cut off after every Nth durable-state operation, what a power
// cut would lose is thrown away, and the exports directory must then hold
// either no image under its final name or the whole one — never a
// truncated file that every client would download and fail to verify; and
// a record that names a verity tree names a whole one.
#include "base/testing/testing.h"
#include "image/export.h"
#include "image/import.h"
#include "sys/fault_injection_env.h"

namespace goldroot {
namespace {

using testing::run;
using testing::TempDir;
using testing::write_file;

class ExportCrashTest : public ::testing::TestWithParam<FaultInjectionEnv::Entries> {};

TEST_P(ExportCrashTest, EveryCrashPointLeavesNoExportOrAWholeOne) {
  TempDir temp("/dev/shm");
  std::string tree = temp / "tree";
  for (int i = 0; i < 40; ++i)
    write_file(tree + "/usr/share/d" + std::to_string(i % 5) + "/f" + std::to_string(i),
               std::string(3000 + i * 517, static_cast<char>('a' + i % 26)));
  write_file(tree + "/boot/vmlinuz-6.1.0-1-amd64", "kernel");
  write_file(tree + "/boot/initrd.img-6.1.0-1-amd64", "initrd");

  PosixEnv posix;
  std::string baseline = temp / "baseline";
  Digest commit;
  {
    Store store(&posix, baseline);
    ASSERT_OK(store.create());
    ASSERT_OK_AND_ASSIGN(ImportResult result, import_directory(store, tree, {"img", "v1"}));
    commit = result.commit;
  }
  Artifact reference;
  int64_t total = 0;
  {
    FaultInjectionEnv fault(&posix);
    Store store(&fault, baseline);
    ASSERT_OK_AND_ASSIGN(reference,
                         export_commit(store, temp / "reference", temp.path(), commit, ExportFormat::kErofs));
    total = fault.operation_count();
  }
  ASSERT_GT(total, 3);

  int saw_none = 0, saw_whole = 0;
  for (int64_t crash_point = 0; crash_point <= total; ++crash_point) {
    SCOPED_TRACE("crash after " + std::to_string(crash_point) + " of " + std::to_string(total));
    std::string exports = temp / "exports";
    ASSERT_EQ(run("rm -rf " + exports), 0);
    {
      FaultInjectionEnv fault(&posix);
      Store store(&fault, baseline);
      fault.crash_after(crash_point);
      auto exported = export_commit(store, exports, temp.path(), commit, ExportFormat::kErofs);
      EXPECT_EQ(exported.ok(), crash_point >= total);
      ASSERT_OK(fault.drop_unsynced_data(GetParam()));
    }
    std::string path = exports + "/" + commit.hex() + ".erofs";
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      ++saw_none;
    } else {
      uint64_t size = 0;
      ASSERT_OK_AND_ASSIGN(Digest digest, sha256_of_file(path, &size));
      EXPECT_EQ(size, reference.size) << "a truncated export under its final name";
      EXPECT_EQ(digest, reference.sha256);
      ++saw_whole;
    }
    // The server and the next export trust only a record that matches.
    ASSERT_OK_AND_ASSIGN(auto cached, cached_artifact(exports, commit, ExportFormat::kErofs));
    if (cached) {
      EXPECT_EQ(cached->sha256, reference.sha256);
      // A record that names a tree names one that is whole.
      ASSERT_TRUE(cached->verity);
      uint64_t tree_size = 0;
      ASSERT_OK_AND_ASSIGN(Digest tree, sha256_of_file(cached->tree_path(), &tree_size));
      EXPECT_EQ(tree, reference.tree_sha256);
      EXPECT_EQ(tree_size, reference.tree_size);
    }
    // And the next export finishes the job.
    Store store(&posix, baseline);
    ASSERT_OK_AND_ASSIGN(Artifact again,
                         export_commit(store, exports, temp.path(), commit, ExportFormat::kErofs));
    EXPECT_EQ(again.sha256, reference.sha256);
    EXPECT_EQ(again.verity, reference.verity);
  }
  EXPECT_GT(saw_none, 0);
  EXPECT_GT(saw_whole, 0);
}

INSTANTIATE_TEST_SUITE_P(Entries, ExportCrashTest,
                         ::testing::Values(FaultInjectionEnv::Entries::kDrop,
                                           FaultInjectionEnv::Entries::kKeep));

}  // namespace
}  // namespace goldroot

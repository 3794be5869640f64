// Crash-safety of import, proved with a fault-injecting Env: an import is
// cut off after every Nth durable-state operation, everything not yet
// synced is thrown away as a power cut would, and the store must then hold
// either the previous commit or the complete new one — with a clean fsck.
#include "base/testing/testing.h"
#include "image/checkout.h"
#include "image/import.h"
#include "image/verify.h"
#include "sys/fault_injection_env.h"

namespace goldroot {
namespace {

using testing::run;
using testing::TempDir;
using testing::write_file;

class ImportCrashTest : public ::testing::TestWithParam<FaultInjectionEnv::Entries> {};

TEST_P(ImportCrashTest, EveryCrashPointLeavesOldOrNewCommit) {
  // Durability is simulated, so tmpfs serves and keeps the many copies fast.
  TempDir temp("/dev/shm");
  std::string v1 = temp / "v1", v2 = temp / "v2";
  for (int i = 0; i < 12; ++i) {
    write_file(v1 + "/dir" + std::to_string(i % 3) + "/f" + std::to_string(i),
               std::string(1000 + i * 100, static_cast<char>('a' + i)));
  }
  ASSERT_EQ(run("cp -a " + v1 + " " + v2), 0);
  write_file(v2 + "/dir0/f0", "changed");
  write_file(v2 + "/new/file", "new content");
  ASSERT_EQ(run("rm " + v2 + "/dir1/f1"), 0);

  PosixEnv posix;
  std::string baseline = temp / "baseline";
  Digest old_commit;
  {
    Store store(&posix, baseline);
    ASSERT_OK(store.create());
    ASSERT_OK_AND_ASSIGN(ImportResult result, import_directory(store, v1, {"img", "v1"}));
    old_commit = result.commit;
  }

  // How many operations a whole import of v2 takes.
  int64_t total = 0;
  {
    ASSERT_EQ(run("rm -rf " + temp / "probe" + " && cp -a " + baseline + " " + temp / "probe"), 0);
    FaultInjectionEnv fault(&posix);
    Store store(&fault, temp / "probe");
    ASSERT_OK(import_directory(store, v2, {"img", "v2"}));
    total = fault.operation_count();
  }
  ASSERT_GT(total, 20);

  int saw_old = 0, saw_new = 0;
  for (int64_t crash_point = 0; crash_point <= total; ++crash_point) {
    SCOPED_TRACE("crash after " + std::to_string(crash_point) + " of " + std::to_string(total));
    std::string site = temp / "site";
    ASSERT_EQ(run("rm -rf " + site + " && cp -a " + baseline + " " + site), 0);
    {
      FaultInjectionEnv fault(&posix);
      Store store(&fault, site);
      fault.crash_after(crash_point);
      auto result = import_directory(store, v2, {"img", "v2"});
      ASSERT_OK(fault.drop_unsynced_data(GetParam()));
    }
    Store store(&posix, site);
    store.clean_tmp();
    ASSERT_OK_AND_ASSIGN(Digest now, store.resolve("img"));
    ASSERT_OK_AND_ASSIGN(FsckReport report, fsck(store));
    ASSERT_TRUE(report.problems.empty())
        << report.problems[0].kind << " " << report.problems[0].digest.hex();
    if (now == old_commit) {
      ++saw_old;
      continue;
    }
    ++saw_new;
    std::string out = temp / "out";
    ASSERT_EQ(run("rm -rf " + out), 0);
    ASSERT_OK(checkout(store, now, out));
    EXPECT_EQ(run("diff -r " + v2 + " " + out), 0);
  }
  // Both outcomes must actually occur, or the test proved nothing.
  EXPECT_GT(saw_old, 0);
  EXPECT_GT(saw_new, 0);
}

INSTANTIATE_TEST_SUITE_P(PowerCut, ImportCrashTest,
                         ::testing::Values(FaultInjectionEnv::Entries::kDrop,
                                           FaultInjectionEnv::Entries::kKeep),
                         [](const auto& info) {
                           return info.param == FaultInjectionEnv::Entries::kDrop
                                      ? std::string("UnsyncedEntriesLost")
                                      : std::string("UnsyncedEntriesKept");
                         });

}  // namespace
}  // namespace goldroot

// Crash-safety of the goldroot initrd cache: a build cut off after every
// Nth durable-state operation, with what a power cut would lose thrown
// away, leaves no initrd under its final name or the whole one, and never a
// recipe (.ref) or commit note naming an initrd that is not whole — the
// next build either reuses a complete one or builds it again.
#include <sys/stat.h>

#include <filesystem>

#include "base/strings.h"
#include "base/testing/testing.h"
#include "image/import.h"
#include "initrd/goldroot_initrd.h"
#include "sys/fault_injection_env.h"

namespace goldroot {
namespace {

using testing::run;
using testing::TempDir;
using testing::write_file;

class InitrdCrashTest : public ::testing::TestWithParam<FaultInjectionEnv::Entries> {};

TEST_P(InitrdCrashTest, EveryCrashPointLeavesNoInitrdOrAWholeOne) {
  TempDir temp("/dev/shm");
  write_file(temp / "tree/boot/vmlinuz", "kernel");
  // A real dynamically linked program stands in for goldroot-boot.
  ASSERT_EQ(run("mkdir -p " + temp / "tools" + " && cp /bin/true " + temp / "tools/goldroot-boot"),
            0);
  PosixEnv posix;
  Store plain(&posix, temp / "store");
  ASSERT_OK(plain.create());
  ASSERT_OK_AND_ASSIGN(ImportResult imported, import_directory(plain, temp / "tree", {"img", "v1"}));
  InitrdSources sources;
  sources.tools_dir = temp / "tools";
  sources.site_public_key = "-----BEGIN PUBLIC KEY-----\ntest\n-----END PUBLIC KEY-----\n";
  sources.mke2fs = "/nonexistent";
  BootFile kernel{"/boot/vmlinuz", Sha256::of("kernel"), 6};

  int64_t total = 0;
  {
    FaultInjectionEnv fault(&posix);
    Store store(&fault, temp / "store");
    ASSERT_OK(build_goldroot_initrd(store, imported.commit, kernel, sources, temp / "reference"));
    total = fault.operation_count();
  }
  ASSERT_GT(total, 2);

  int saw_none = 0, saw_whole = 0;
  for (int64_t crash_point = 0; crash_point <= total; ++crash_point) {
    SCOPED_TRACE("crash after " + std::to_string(crash_point) + " of " + std::to_string(total));
    std::string cache = temp / "cache";
    ASSERT_EQ(run("rm -rf " + cache), 0);
    {
      FaultInjectionEnv fault(&posix);
      Store store(&fault, temp / "store");
      fault.crash_after(crash_point);
      auto built = build_goldroot_initrd(store, imported.commit, kernel, sources, cache);
      EXPECT_EQ(built.ok(), crash_point >= total);
      ASSERT_OK(fault.drop_unsynced_data(GetParam()));
    }
    // Initrds are named by their content: every one under its final name
    // must hash to that name.
    int whole = 0;
    for (const auto& entry : std::filesystem::directory_iterator(cache)) {
      std::string name = entry.path().filename().string();
      if (!ends_with(name, ".img") || starts_with(name, ".")) continue;
      uint64_t size = 0;
      ASSERT_OK_AND_ASSIGN(Digest digest, sha256_of_file(entry.path().string(), &size));
      EXPECT_EQ(digest.hex() + ".img", name) << "a truncated initrd under its final name";
      ++whole;
    }
    ++(whole > 0 ? saw_whole : saw_none);
    // The next build (what the server does on the next request) reuses a
    // whole initrd or makes one; never hands out a broken one.
    ASSERT_OK_AND_ASSIGN(GoldrootInitrd again, build_goldroot_initrd(plain, imported.commit, kernel,
                                                                     sources, cache));
    uint64_t size = 0;
    ASSERT_OK_AND_ASSIGN(Digest digest, sha256_of_file(again.path, &size));
    EXPECT_EQ(digest, again.sha256);
    EXPECT_EQ(size, again.size);
  }
  EXPECT_GT(saw_none, 0);
  EXPECT_GT(saw_whole, 0);
}

INSTANTIATE_TEST_SUITE_P(Entries, InitrdCrashTest,
                         ::testing::Values(FaultInjectionEnv::Entries::kDrop,
                                           FaultInjectionEnv::Entries::kKeep));

}  // namespace
}  // namespace goldroot

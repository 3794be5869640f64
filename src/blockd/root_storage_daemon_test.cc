#include "blockd/root_storage_daemon.h"

#include "base/testing/testing.h"

namespace goldroot::blockd {
namespace {

// systemd spares processes whose argv[0] starts with '@'; it reads
// /proc/PID/cmdline, so that is what must change (this test process's own:
// gtest is done with argv by now).
TEST(RootStorageDaemonTest, CmdlineStartsWithAt) {
  ASSERT_OK(set_root_storage_cmdline("goldroot-blockd", {"--x", "1"}));
  std::string cmdline = testing::read_file("/proc/self/cmdline");
  ASSERT_GE(cmdline.size(), 17u);
  EXPECT_EQ(cmdline.substr(0, 17), std::string("@goldroot-blockd\0", 17));
  EXPECT_EQ(testing::read_file("/proc/self/comm"), "goldroot-blockd\n");
}

}  // namespace
}  // namespace goldroot::blockd

#include "boot/blockd_launch.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "base/testing/testing.h"

namespace goldroot::boot {
namespace {

using testing::TempDir;

// A stand-in daemon: a shell script that answers on fd 3 as goldroot-blockd does.
std::string fake_daemon(const TempDir& dir, const std::string& name, const std::string& body) {
  std::string path = dir.path() + "/" + name;
  std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
  ::chmod(path.c_str(), 0755);
  return path;
}

TEST(BlockdLaunchTest, ReturnsTheDeviceTheDaemonAnnounces) {
  TempDir dir;
  BlockdLaunch launch;
  launch.program = fake_daemon(dir, "ready", R"(
    [ "$1" = --image-url ] && [ "$3" = --ready-fd ] && [ "$4" = 3 ] || exit 9
    echo /dev/dm-7 >&3)");
  launch.arguments = {"--image-url", "http://10.0.0.1/images/x.erofs"};
  ASSERT_OK_AND_ASSIGN(StartedBlockd started, start_blockd(launch));
  EXPECT_EQ(started.device, "/dev/dm-7");
  EXPECT_FALSE(started.reused);
}

TEST(BlockdLaunchTest, ADaemonThatFailsGivesItsSentence) {
  TempDir dir;
  BlockdLaunch launch;
  launch.program = fake_daemon(dir, "refuses",
                               "echo 'error: the tree does not match the signed root hash' >&3; exit 1");
  auto started = start_blockd(launch);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().message,
            "goldroot-blockd: the tree does not match the signed root hash");

  launch.program = fake_daemon(dir, "dies", "exit 4");
  started = start_blockd(launch);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().message,
            "goldroot-blockd stopped before its device was ready (exit status 4)");

  launch.program = dir.path() + "/missing";
  started = start_blockd(launch);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("cannot run " + launch.program), std::string::npos)
      << started.error().message;
}

TEST(BlockdLaunchTest, ReusesALiveDaemonForTheSameImage) {
  std::string device;
  for (const char* candidate : {"/dev/loop0", "/dev/sda", "/dev/vda", "/dev/ram0"}) {
    struct stat st;
    if (::stat(candidate, &st) == 0 && S_ISBLK(st.st_mode)) device = candidate;
  }
  if (device.empty()) GTEST_SKIP() << "needs a block device node to stand for the daemon's";
  TempDir dir;
  BlockdLaunch launch;
  launch.program = fake_daemon(dir, "second", "echo /dev/dm-9 >&3");
  launch.status_path = dir.path() + "/blockd.json";
  launch.root_hash = std::string(64, 'a');
  // This process stands for the running daemon.
  std::ofstream(launch.status_path) << R"({"root_hash": ")" << launch.root_hash
                                    << R"(", "pid": )" << ::getpid() << R"(, "device": ")"
                                    << device << R"("})";
  ASSERT_OK_AND_ASSIGN(StartedBlockd started, start_blockd(launch));
  EXPECT_EQ(started.device, device);
  EXPECT_TRUE(started.reused);

  // Another image: a new daemon.
  launch.root_hash = std::string(64, 'b');
  ASSERT_OK_AND_ASSIGN(started, start_blockd(launch));
  EXPECT_EQ(started.device, "/dev/dm-9");
  EXPECT_FALSE(started.reused);
}

}  // namespace
}  // namespace goldroot::boot

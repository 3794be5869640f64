#include "boot/boot_interface.h"

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "base/testing/testing.h"

namespace goldroot::boot {
namespace {

class BootInterfaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("boot-interface-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "run");
    interface("lo", "00:00:00:00:00:00");
    interface("ens3", "52:54:00:12:34:56");
    interface("ens4", "52:54:00:AB:CD:EF");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void interface(const std::string& name, const std::string& mac) {
    std::filesystem::create_directories(dir_ / "net" / name);
    std::ofstream(dir_ / "net" / name / "address") << mac << "\n";
  }
  Result<std::string> find(const std::vector<std::string>& ipv4 = {}) {
    return find_boot_mac((dir_ / "run").string(), (dir_ / "net").string(), ipv4);
  }
  std::filesystem::path dir_;
};

TEST_F(BootInterfaceTest, TheInterfaceIpconfigConfigured) {
  std::ofstream(dir_ / "run/net-ens4.conf") << "DEVICE='ens4'\nPROTO='dhcp'\nIPV4ADDR='10.0.0.5'\n";
  ASSERT_OK_AND_ASSIGN(std::string mac, find({"ens3"}));
  EXPECT_EQ(mac, "52:54:00:ab:cd:ef");
}

TEST_F(BootInterfaceTest, ElseTheFirstWithAnAddress) {
  ASSERT_OK_AND_ASSIGN(std::string mac, find({"lo", "ens3", "ens4"}));
  EXPECT_EQ(mac, "52:54:00:12:34:56");
}

TEST_F(BootInterfaceTest, NoneIsOneSentence) {
  auto none = find();
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("no network interface was configured"), std::string::npos);
  interface("bad0", "not-a-mac");
  auto bad = find({"bad0"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("is not a MAC address"), std::string::npos);
}

}  // namespace
}  // namespace goldroot::boot

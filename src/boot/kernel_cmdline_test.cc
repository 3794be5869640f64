#include "boot/kernel_cmdline.h"

#include "base/testing/testing.h"

namespace goldroot::boot {
namespace {

TEST(KernelCmdline, ReadsOurWordsAndIgnoresOthers) {
  ASSERT_OK_AND_ASSIGN(
      BootOptions options,
      parse_kernel_cmdline("BOOT_IMAGE=/vmlinuz ro quiet boot=goldroot "
                           "goldroot.server=http://10.0.0.1:8080/ goldroot.mac=52:54:00:aa:00:01 "
                           "goldroot.host=pc01 goldroot.mode=maintenance console=ttyS0\n"));
  EXPECT_TRUE(options.goldroot);
  EXPECT_EQ(options.server, "http://10.0.0.1:8080");
  EXPECT_EQ(options.manifest_url, "http://10.0.0.1:8080/api/v1/boot/52:54:00:aa:00:01");
  EXPECT_EQ(options.host, "pc01");
  EXPECT_EQ(options.mode, BootMode::kMaintenance);
}

// The line `goldroot serve` writes into a host's iPXE script (ipxe_script.cc).
TEST(KernelCmdline, ReadsTheLineTheIpxeScriptWrites) {
  ASSERT_OK_AND_ASSIGN(
      BootOptions options,
      parse_kernel_cmdline("initrd=image-initrd.img initrd=goldroot-initrd.img boot=goldroot "
                           "goldroot.server=http://10.0.0.1:8080 "
                           "goldroot.manifest=http://10.0.0.1:8080/api/v1/boot/52:54:00:12:34:56 "
                           "goldroot.mode=reset goldroot.host=pc-11 goldroot.mac=52:54:00:12:34:56 "
                           "BOOTIF=01-52-54-00-12-34-56 ip=dhcp"));
  EXPECT_EQ(options.manifest_url, "http://10.0.0.1:8080/api/v1/boot/52:54:00:12:34:56");
  EXPECT_EQ(options.mode, BootMode::kReset);
  EXPECT_EQ(options.host, "pc-11");
  for (const char* mode : {"normal", "reset", "maintenance", "cache", "install", "shell"}) {
    ASSERT_OK_AND_ASSIGN(BootMode parsed, parse_boot_mode(mode));
    EXPECT_STREQ(boot_mode_name(parsed), mode);
  }
}

TEST(KernelCmdline, ManifestUrlOverridesAndQuotesGroup) {
  ASSERT_OK_AND_ASSIGN(BootOptions options,
                       parse_kernel_cmdline("boot=goldroot \"goldroot.manifest=http://h/m x\""));
  EXPECT_EQ(options.manifest_url, "http://h/m x");
  EXPECT_EQ(options.mode, BootMode::kNormal);
}

TEST(KernelCmdline, NotGoldrootIsNotAnError) {
  ASSERT_OK_AND_ASSIGN(BootOptions options, parse_kernel_cmdline("root=/dev/sda1 ro"));
  EXPECT_FALSE(options.goldroot);
}

TEST(KernelCmdline, MissingPiecesAndBadModeSaySo) {
  auto no_server = parse_kernel_cmdline("boot=goldroot goldroot.mac=52:54:00:aa:00:01");
  ASSERT_FALSE(no_server.ok());
  EXPECT_NE(no_server.error().message.find("goldroot.server"), std::string::npos);
  auto bad_mac = parse_kernel_cmdline("boot=goldroot goldroot.server=http://h goldroot.mac=zz");
  ASSERT_FALSE(bad_mac.ok());
  EXPECT_EQ(bad_mac.error().message,
            "goldroot.mac \"zz\" is not a MAC address (like 52:54:00:12:34:56)");
  auto bad_bootif = parse_kernel_cmdline("boot=goldroot goldroot.server=http://h BOOTIF=01-52-54");
  ASSERT_FALSE(bad_bootif.ok());
  EXPECT_NE(bad_bootif.error().message.find("BOOTIF"), std::string::npos);
  auto bad_mode = parse_kernel_cmdline("boot=goldroot goldroot.manifest=http://h/m goldroot.mode=rset");
  ASSERT_FALSE(bad_mode.ok());
  EXPECT_NE(bad_mode.error().message.find("rset"), std::string::npos);
}

// The line a unified kernel image carries (initrd/uki.h): no host, no MAC.
TEST(KernelCmdline, UnifiedKernelImageLineWaitsForTheMac) {
  ASSERT_OK_AND_ASSIGN(BootOptions options,
                       parse_kernel_cmdline("boot=goldroot goldroot.server=http://10.0.0.1:8080 "
                                            "goldroot.mode=normal ip=dhcp console=ttyS0"));
  EXPECT_TRUE(options.goldroot);
  EXPECT_EQ(options.mac, "");
  EXPECT_EQ(options.manifest_url, "");
  set_boot_mac(&options, "52:54:00:12:34:56");
  EXPECT_EQ(options.manifest_url, "http://10.0.0.1:8080/api/v1/boot/52:54:00:12:34:56");
}

TEST(KernelCmdline, BootifGivesTheMac) {
  ASSERT_OK_AND_ASSIGN(BootOptions options,
                       parse_kernel_cmdline("boot=goldroot goldroot.server=http://s "
                                            "BOOTIF=01-52-54-00-AB-CD-EF ip=dhcp"));
  EXPECT_EQ(options.mac, "52:54:00:ab:cd:ef");
  EXPECT_EQ(options.manifest_url, "http://s/api/v1/boot/52:54:00:ab:cd:ef");
}

TEST(KernelCmdline, DataPartitionPolicy) {
  ASSERT_OK_AND_ASSIGN(BootOptions defaults,
                       parse_kernel_cmdline("boot=goldroot goldroot.server=http://s goldroot.mac=52:54:00:aa:00:01"));
  EXPECT_EQ(defaults.data_label, "GOLDROOT-DATA");
  EXPECT_TRUE(defaults.format_allowed);
  ASSERT_OK_AND_ASSIGN(BootOptions none, parse_kernel_cmdline("boot=goldroot goldroot.server=http://s "
                                                             "goldroot.mac=52:54:00:aa:00:01 goldroot.data=none "
                                                             "goldroot.format=no"));
  EXPECT_EQ(none.data_label, "");
  EXPECT_FALSE(none.format_allowed);
  EXPECT_FALSE(parse_kernel_cmdline("boot=goldroot goldroot.server=http://s goldroot.mac=52:54:00:aa:00:01 "
                                    "goldroot.format=maybe").ok());
}

TEST(KernelCmdline, RetrySeconds) {
  ASSERT_OK_AND_ASSIGN(
      BootOptions defaults,
      parse_kernel_cmdline("boot=goldroot goldroot.server=http://s goldroot.mac=52:54:00:aa:00:01"));
  EXPECT_EQ(defaults.retry_seconds, 20);
  ASSERT_OK_AND_ASSIGN(BootOptions set,
                       parse_kernel_cmdline("boot=goldroot goldroot.server=http://s "
                                            "goldroot.mac=52:54:00:aa:00:01 goldroot.retry=5"));
  EXPECT_EQ(set.retry_seconds, 5);
  for (const char* bad : {"0", "-1", "x", "3601"})
    EXPECT_FALSE(parse_kernel_cmdline(std::string("boot=goldroot goldroot.server=http://s "
                                                  "goldroot.mac=52:54:00:aa:00:01 goldroot.retry=") +
                                      bad)
                     .ok());
}

}  // namespace
}  // namespace goldroot::boot

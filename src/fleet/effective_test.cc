#include "fleet/effective.h"

#include "base/testing/testing.h"

namespace goldroot {
namespace {

TEST(EffectiveTest, DefaultsAreNormalAndGold) {
  Host host;
  EffectiveMode mode = effective_mode(host, nullptr);
  EXPECT_EQ(mode.mode, BootMode::kNormal);
  EXPECT_EQ(mode.source, SettingSource::kDefault);
  EffectiveChannel channel = effective_channel(host, nullptr);
  EXPECT_EQ(channel.channel, "gold");
  EXPECT_FALSE(channel.pinned_commit);
}

TEST(EffectiveTest, LabSettingAppliesWhenTheHostHasNone) {
  Host host;
  Lab lab;
  lab.mode = BootMode::kReset;
  lab.channel = "test";
  EXPECT_EQ(effective_mode(host, &lab).mode, BootMode::kReset);
  EXPECT_EQ(effective_mode(host, &lab).source, SettingSource::kLab);
  EXPECT_EQ(effective_channel(host, &lab).channel, "test");
}

TEST(EffectiveTest, HostSettingWinsOverItsLab) {
  Host host;
  host.mode = BootMode::kMaintenance;
  host.pinned_commit = std::string(64, 'a');
  Lab lab;
  lab.mode = BootMode::kReset;
  lab.channel = "test";
  EXPECT_EQ(effective_mode(host, &lab).mode, BootMode::kMaintenance);
  EXPECT_EQ(effective_mode(host, &lab).source, SettingSource::kHost);
  EffectiveChannel channel = effective_channel(host, &lab);
  EXPECT_FALSE(channel.channel);
  EXPECT_EQ(channel.pinned_commit, std::string(64, 'a'));
}

TEST(EffectiveTest, EveryBootModeRoundTrips) {
  for (const char* name : {"normal", "reset", "maintenance", "cache", "install", "shell"}) {
    ASSERT_OK_AND_ASSIGN(BootMode mode, parse_boot_mode(name));
    EXPECT_STREQ(boot_mode_name(mode), name);
  }
  auto bad = parse_boot_mode("rescue");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("unknown boot mode 'rescue'"), std::string::npos);
}

}  // namespace
}  // namespace goldroot

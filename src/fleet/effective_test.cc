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

TEST(EffectiveTest, EnrollPolicyIsTheLabsElseTheSites) {
  Host host;
  EXPECT_EQ(effective_enroll_policy(host, nullptr, EnrollPolicy::kFirstUse),
            EnrollPolicy::kFirstUse);
  Lab lab;
  EXPECT_EQ(effective_enroll_policy(host, &lab, EnrollPolicy::kAdmin), EnrollPolicy::kAdmin);
  lab.enroll = EnrollPolicy::kPort;
  EXPECT_EQ(effective_enroll_policy(host, &lab, EnrollPolicy::kAdmin), EnrollPolicy::kPort);
  lab.enroll = EnrollPolicy::kAdmin;
  EXPECT_EQ(effective_enroll_policy(host, &lab, EnrollPolicy::kFirstUse), EnrollPolicy::kAdmin);
}

TEST(EffectiveTest, AnUnregisteredHostTakesThePortPolicyWhateverTheSites) {
  Host host;
  host.unregistered = true;
  EXPECT_EQ(effective_enroll_policy(host, nullptr, EnrollPolicy::kAdmin), EnrollPolicy::kPort);
  EXPECT_EQ(effective_enroll_policy(host, nullptr, EnrollPolicy::kFirstUse), EnrollPolicy::kPort);
}

TEST(EffectiveTest, EveryEnrollPolicyRoundTrips) {
  for (const char* name : {"admin", "first-use", "port"}) {
    ASSERT_OK_AND_ASSIGN(EnrollPolicy policy, parse_enroll_policy(name));
    EXPECT_STREQ(enroll_policy_name(policy), name);
  }
  auto bad = parse_enroll_policy("tofu");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "unknown enrolment policy 'tofu'; choose admin, first-use or port");
}

TEST(EffectiveTest, UefiBootIsTheLabsElseTheSites) {
  EXPECT_EQ(effective_uefi_boot(nullptr, UefiBoot::kShim), UefiBoot::kShim);
  Lab lab;
  EXPECT_EQ(effective_uefi_boot(&lab, UefiBoot::kIpxe), UefiBoot::kIpxe);
  lab.uefi = UefiBoot::kShim;
  EXPECT_EQ(effective_uefi_boot(&lab, UefiBoot::kIpxe), UefiBoot::kShim);
  lab.uefi = UefiBoot::kIpxe;
  EXPECT_EQ(effective_uefi_boot(&lab, UefiBoot::kShim), UefiBoot::kIpxe);
}

TEST(EffectiveTest, FetchIsTheHostsElseTheLabsElseTheSites) {
  Host host;
  EffectiveFetch fetch = effective_fetch(host, nullptr, FetchMode::kFull);
  EXPECT_EQ(fetch.mode, FetchMode::kFull);
  EXPECT_EQ(fetch.source, SettingSource::kDefault);
  Lab lab;
  EXPECT_EQ(effective_fetch(host, &lab, FetchMode::kDemand).mode, FetchMode::kDemand);
  lab.fetch = FetchMode::kDemand;
  fetch = effective_fetch(host, &lab, FetchMode::kFull);
  EXPECT_EQ(fetch.mode, FetchMode::kDemand);
  EXPECT_EQ(fetch.source, SettingSource::kLab);
  host.fetch = FetchMode::kFull;
  fetch = effective_fetch(host, &lab, FetchMode::kDemand);
  EXPECT_EQ(fetch.mode, FetchMode::kFull);
  EXPECT_EQ(fetch.source, SettingSource::kHost);
}

TEST(EffectiveTest, EveryFetchModeRoundTrips) {
  for (const char* name : {"full", "demand"}) {
    ASSERT_OK_AND_ASSIGN(FetchMode mode, parse_fetch_mode(name));
    EXPECT_STREQ(fetch_mode_name(mode), name);
  }
  auto bad = parse_fetch_mode("lazy");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.substr(0, 37), "unknown fetch 'lazy'; choose full (do");
}

TEST(EffectiveTest, PrefetchIsTheLabsElseTheSites) {
  PrefetchSetting site = parse_prefetch_setting("22:00-06:00").value();
  EXPECT_EQ(effective_prefetch(nullptr, site), site);
  Lab lab;
  EXPECT_EQ(effective_prefetch(&lab, site), site);
  lab.prefetch = parse_prefetch_setting("off").value();
  EXPECT_EQ(effective_prefetch(&lab, site).kind, PrefetchKind::kOff);
}

TEST(EffectiveTest, EveryUefiBootRoundTrips) {
  for (const char* name : {"ipxe", "shim", "uki"}) {
    ASSERT_OK_AND_ASSIGN(UefiBoot boot, parse_uefi_boot(name));
    EXPECT_STREQ(uefi_boot_name(boot), name);
  }
  auto bad = parse_uefi_boot("grub");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.substr(0, 29), "unknown UEFI boot 'grub'; cho");
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

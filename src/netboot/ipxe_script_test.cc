#include "netboot/ipxe_script.h"

#include <map>

#include "base/strings.h"
#include "base/testing/testing.h"

namespace goldroot::netboot {
namespace {

BootUrls urls() {
  BootUrls u;
  u.server = "http://10.0.0.1:8080";
  u.kernel = "http://10.0.0.1:8080/files/aaaa/vmlinuz";
  u.initrd = "http://10.0.0.1:8080/files/bbbb/initrd.img";
  u.goldroot_initrd = "http://10.0.0.1:8080/files/cccc/goldroot-initrd.img";
  u.manifest = "http://10.0.0.1:8080/api/v1/boot/52:54:00:12:34:56";
  return u;
}

// The lines of label `name`'s section, up to the blank line that ends it.
std::vector<std::string> section(const std::string& script, const std::string& name) {
  std::vector<std::string> lines = split(script, '\n');
  std::vector<std::string> out;
  bool inside = false;
  for (const auto& line : lines) {
    if (line == ":" + name) {
      inside = true;
      continue;
    }
    if (inside && line.empty()) break;
    if (inside) out.push_back(line);
  }
  return out;
}

const char* kExpectedArguments =
    " initrd=image-initrd.img initrd=goldroot-initrd.img boot=goldroot"
    " goldroot.server=http://10.0.0.1:8080"
    " goldroot.manifest=http://10.0.0.1:8080/api/v1/boot/52:54:00:12:34:56";

// The names of the menu's items ("item NAME …"), in order; gaps left out.
std::vector<std::string> menu_items(const std::string& script) {
  std::vector<std::string> items;
  for (const auto& line : split(script, '\n')) {
    if (!starts_with(line, "item ") || starts_with(line, "item --gap")) continue;
    std::string rest = line.substr(5);
    items.push_back(rest.substr(0, rest.find(' ')));
  }
  return items;
}

// The labels the script can jump to (":NAME" lines).
std::vector<std::string> labels(const std::string& script) {
  std::vector<std::string> out;
  for (const auto& line : split(script, '\n'))
    if (starts_with(line, ":")) out.push_back(line.substr(1));
  return out;
}

TEST(IpxeScriptTest, EachModeOffersExactlyItselfAndResetOnlyForNormal) {
  const std::map<std::string, std::vector<std::string>> expected = {
      {"normal", {"normal", "reset"}},
      {"reset", {"reset"}},
      {"maintenance", {"maintenance"}},
      {"cache", {"cache"}},
      {"install", {"install"}},
      {"shell", {"shell"}},
  };
  ASSERT_EQ(expected.size(), boot_modes().size());
  for (const auto& mode : boot_modes()) {
    SCOPED_TRACE(mode);
    EXPECT_EQ(menu_modes(mode), expected.at(mode));
    ASSERT_OK_AND_ASSIGN(auto script, render_host_script({"pc-11", "52:54:00:12:34:56", mode},
                                                         urls(), IpxeMenuOptions{}));
    EXPECT_EQ(menu_items(script), expected.at(mode)) << script;
    // Nothing else can be reached either: a section per item, and the retry.
    std::vector<std::string> reachable = expected.at(mode);
    reachable.push_back("failed");
    EXPECT_EQ(labels(script), reachable) << script;
  }
  EXPECT_TRUE(menu_modes("rescue").empty());
}

TEST(IpxeScriptTest, NoShellMaintenanceInstallOrLocalDiskUnlessThatIsTheMode) {
  for (const auto& mode : boot_modes()) {
    SCOPED_TRACE(mode);
    ASSERT_OK_AND_ASSIGN(auto script, render_host_script({"pc-11", "52:54:00:12:34:56", mode},
                                                         urls(), IpxeMenuOptions{}));
    for (const char* restricted : {"shell", "maintenance", "install", "cache"}) {
      bool offered = mode == restricted;
      EXPECT_EQ(script.find("\nitem " + std::string(restricted) + " ") != std::string::npos,
                offered)
          << restricted;
      EXPECT_EQ(!section(script, restricted).empty(), offered) << restricted;
      EXPECT_EQ(script.find("goldroot.mode=" + std::string(restricted) + " ") != std::string::npos,
                offered)
          << restricted;
    }
    // Leaving iPXE would boot whatever the local disk holds.
    EXPECT_EQ(script.find("item local"), std::string::npos);
    EXPECT_EQ(script.find("\nexit\n"), std::string::npos);
  }
}

TEST(IpxeScriptTest, EachItemBootsKernelAndBothInitrdsWithItsOwnMode) {
  for (const auto& mode : boot_modes()) {
    SCOPED_TRACE(mode);
    BootHost host{"pc-11", "52-54-00-12-34-56", mode};
    ASSERT_OK_AND_ASSIGN(auto script, render_host_script(host, urls(), IpxeMenuOptions{}));
    EXPECT_TRUE(starts_with(script, "#!ipxe\n"));
    // The configured mode is the menu's default, with a 5 s timeout.
    EXPECT_NE(script.find("\nchoose --default " + mode + " --timeout 5000 target || goto " + mode +
                          "\ngoto ${target}\n"),
              std::string::npos)
        << script;
    for (const auto& item : menu_items(script)) {
      SCOPED_TRACE(item);
      std::vector<std::string> lines = section(script, item);
      ASSERT_EQ(lines.size(), 5u) << script;
      EXPECT_EQ(lines[0], "echo goldroot: booting pc-11 in " + item + " mode");
      EXPECT_EQ(lines[1], "kernel http://10.0.0.1:8080/files/aaaa/vmlinuz" +
                              std::string(kExpectedArguments) + " goldroot.mode=" + item +
                              " goldroot.host=pc-11 goldroot.mac=52:54:00:12:34:56"
                              " BOOTIF=01-52-54-00-12-34-56 ip=dhcp || goto failed");
      EXPECT_EQ(lines[2],
                "initrd --name image-initrd.img http://10.0.0.1:8080/files/bbbb/initrd.img"
                " || goto failed");
      EXPECT_EQ(lines[3],
                "initrd --name goldroot-initrd.img"
                " http://10.0.0.1:8080/files/cccc/goldroot-initrd.img || goto failed");
      EXPECT_EQ(lines[4], "boot || goto failed");
    }
  }
}

TEST(IpxeScriptTest, MenuHeadingAndRetryAfterAFailedBoot) {
  ASSERT_OK_AND_ASSIGN(auto script, render_host_script({"pc-11", "52:54:00:12:34:56", "normal"},
                                                       urls(), IpxeMenuOptions{}));
  EXPECT_NE(script.find("\nmenu goldroot: pc-11 (52:54:00:12:34:56)\n"), std::string::npos);
  // A failed boot asks the server for the script again rather than stopping.
  std::vector<std::string> failed = section(script, "failed");
  ASSERT_FALSE(failed.empty());
  EXPECT_EQ(failed.back(),
            "chain --replace --autofree http://10.0.0.1:8080/boot/52:54:00:12:34:56.ipxe");
}

TEST(IpxeScriptTest, AnHttpsServerForTheClientAndPlainHttpForIpxesOwnRetry) {
  BootUrls https = urls();
  https.server = "https://10.0.0.1:8443";
  https.manifest = "https://10.0.0.1:8443/api/v1/boot/52:54:00:12:34:56";
  https.script_server = "http://10.0.0.1:8080";
  ASSERT_OK_AND_ASSIGN(auto script,
                       render_host_script({"pc-11", "52:54:00:12:34:56", "normal"}, https, {}));
  EXPECT_NE(script.find(" goldroot.server=https://10.0.0.1:8443 goldroot.manifest=https://10.0.0.1:8443/"
                        "api/v1/boot/52:54:00:12:34:56 "),
            std::string::npos)
      << script;
  EXPECT_EQ(section(script, "failed").back(),
            "chain --replace --autofree http://10.0.0.1:8080/boot/52:54:00:12:34:56.ipxe");
  ASSERT_OK_AND_ASSIGN(auto registration,
                       render_unknown_host_script("52:54:00:12:34:56", {}, https, {}));
  EXPECT_NE(registration.find("chain --replace --autofree http://10.0.0.1:8080/boot/"),
            std::string::npos)
      << registration;
  https.script_server = "http://10.0.0.1:8080/$bad";
  EXPECT_FALSE(render_host_script({"pc-11", "52:54:00:12:34:56", "normal"}, https, {}).ok());
}

TEST(IpxeScriptTest, TimeoutTitleAndExtraArguments) {
  IpxeMenuOptions options;
  options.timeout_seconds = 12;
  options.title = "Lab 3";
  options.extra_kernel_arguments = "console=ttyS0 quiet";
  ASSERT_OK_AND_ASSIGN(
      auto script, render_host_script({"pc-11", "52:54:00:12:34:56", "cache"}, urls(), options));
  EXPECT_NE(script.find("choose --default cache --timeout 12000 target"), std::string::npos);
  EXPECT_NE(script.find("\nmenu Lab 3: pc-11"), std::string::npos);
  EXPECT_NE(script.find("ip=dhcp console=ttyS0 quiet || goto failed"), std::string::npos);
}

TEST(IpxeScriptTest, ZeroTimeoutBootsTheDefaultWithoutAMenu) {
  IpxeMenuOptions options;
  options.timeout_seconds = 0;
  ASSERT_OK_AND_ASSIGN(
      auto script,
      render_host_script({"pc-11", "52:54:00:12:34:56", "maintenance"}, urls(), options));
  EXPECT_EQ(script.find("choose"), std::string::npos);
  EXPECT_NE(script.find("\ngoto maintenance\n"), std::string::npos);
}

TEST(IpxeScriptTest, BadInputIsOneSentence) {
  auto bad_mac = render_host_script({"pc-11", "52:54:00:12:34", "normal"}, urls(), {});
  ASSERT_FALSE(bad_mac.ok());
  EXPECT_EQ(bad_mac.error().message,
            "'52:54:00:12:34' is not a MAC address; expected six hex pairs such as 52:54:00:12:34:56");

  auto bad_mode = render_host_script({"pc-11", "52:54:00:12:34:56", "rescue"}, urls(), {});
  ASSERT_FALSE(bad_mode.ok());
  EXPECT_EQ(bad_mode.error().message,
            "boot mode 'rescue' is not one of normal, reset, maintenance, cache, install, shell");

  auto bad_name = render_host_script({"pc 11", "52:54:00:12:34:56", "normal"}, urls(), {});
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.error().code, ErrorCode::kInvalidArgument);

  BootUrls sneaky = urls();
  sneaky.kernel = "http://10.0.0.1/vmlinuz initrd=evil";
  auto bad_url = render_host_script({"pc-11", "52:54:00:12:34:56", "normal"}, sneaky, {});
  ASSERT_FALSE(bad_url.ok());
  EXPECT_EQ(bad_url.error().message,
            "kernel URL 'http://10.0.0.1/vmlinuz initrd=evil' must not contain spaces, control "
            "characters or '$'");
  sneaky = urls();
  sneaky.manifest = "tftp://10.0.0.1/manifest";
  EXPECT_FALSE(render_host_script({"pc-11", "52:54:00:12:34:56", "normal"}, sneaky, {}).ok());

  IpxeMenuOptions options;
  options.extra_kernel_arguments = "x=${evil}";
  EXPECT_FALSE(render_host_script({"pc-11", "52:54:00:12:34:56", "normal"}, urls(), options).ok());
}

TEST(IpxeScriptTest, UnknownHostRegistrationScreenShowsTheMacAndAsksAgain) {
  UnknownHostOptions unknown;
  unknown.retry_seconds = 20;
  ASSERT_OK_AND_ASSIGN(auto script,
                       render_unknown_host_script("52-54-00-AB-CD-EF", unknown, urls(), {}));
  EXPECT_TRUE(starts_with(script, "#!ipxe\n"));
  EXPECT_NE(script.find("\necho   MAC address: 52:54:00:ab:cd:ef\n"), std::string::npos);
  // The wait starts at 20 s and doubles up to 5 minutes across the
  // chained scripts (an iPXE setting outlives chain --replace), largest
  // step first so that one pass takes one step.
  EXPECT_NE(script.find("\nisset ${goldroot-wait} || set goldroot-wait 20\n:register\n"),
            std::string::npos);
  EXPECT_NE(script.find("\nprompt --timeout ${goldroot-wait}000 Asking the server again in "
                        "${goldroot-wait} seconds (any key: now) ||\n"
                        "iseq ${goldroot-wait} 160 && set goldroot-wait 300 ||\n"
                        "iseq ${goldroot-wait} 80 && set goldroot-wait 160 ||\n"
                        "iseq ${goldroot-wait} 40 && set goldroot-wait 80 ||\n"
                        "iseq ${goldroot-wait} 20 && set goldroot-wait 40 ||\n"
                        "chain --replace --autofree "
                        "http://10.0.0.1:8080/boot/52:54:00:ab:cd:ef.ipxe || goto register\n"),
            std::string::npos)
      << script;
  // It never boots anything, exits iPXE or reboots.
  for (const char* word : {"kernel", "boot=goldroot", "\nboot", "\nexit", "reboot", "sanboot"})
    EXPECT_EQ(script.find(word), std::string::npos) << word;
  // A long first wait is kept, without a ladder.
  unknown.retry_seconds = 600;
  ASSERT_OK_AND_ASSIGN(auto slow,
                       render_unknown_host_script("52-54-00-AB-CD-EF", unknown, urls(), {}));
  EXPECT_NE(slow.find("set goldroot-wait 600\n"), std::string::npos);
  EXPECT_EQ(slow.find("iseq"), std::string::npos);
}

TEST(IpxeScriptTest, UnknownHostDefaultImageBootsWithoutAHostName) {
  UnknownHostOptions unknown;
  unknown.policy = UnknownHostPolicy::kDefaultImage;
  ASSERT_OK_AND_ASSIGN(auto script,
                       render_unknown_host_script("52:54:00:ab:cd:ef", unknown, urls(), {}));
  EXPECT_NE(script.find("choose --default normal --timeout 5000 target"), std::string::npos);
  std::vector<std::string> normal = section(script, "normal");
  ASSERT_EQ(normal.size(), 5u);
  EXPECT_NE(normal[1].find(" goldroot.mode=normal goldroot.mac=52:54:00:ab:cd:ef "),
            std::string::npos)
      << normal[1];
  EXPECT_EQ(normal[1].find("goldroot.host="), std::string::npos);
  // Normal and reset, nothing else: no mode that writes disks or opens a shell.
  EXPECT_EQ(menu_items(script), (std::vector<std::string>{"normal", "reset"})) << script;
  EXPECT_EQ(labels(script), (std::vector<std::string>{"normal", "reset", "failed"})) << script;
  EXPECT_NE(section(script, "reset")[1].find(" goldroot.mode=reset "), std::string::npos);
  for (const char* mode : {"maintenance", "install", "shell"}) {
    EXPECT_TRUE(section(script, mode).empty()) << mode;
    unknown.default_mode = mode;
    auto refused = render_unknown_host_script("52:54:00:ab:cd:ef", unknown, urls(), {});
    ASSERT_FALSE(refused.ok()) << mode;
    EXPECT_EQ(
        refused.error().message,
        std::string("unregistered machines may boot in normal, reset or cache mode, not ") + mode);
  }
}

TEST(IpxeScriptTest, UnknownHostDefaultImageOffersItsModeAndReset) {
  UnknownHostOptions unknown;
  unknown.policy = UnknownHostPolicy::kDefaultImage;
  for (const char* mode : {"normal", "reset", "cache"}) {
    SCOPED_TRACE(mode);
    unknown.default_mode = mode;
    ASSERT_OK_AND_ASSIGN(auto script,
                         render_unknown_host_script("52:54:00:ab:cd:ef", unknown, urls(), {}));
    EXPECT_EQ(menu_items(script), menu_modes(mode)) << script;
    EXPECT_NE(script.find("choose --default " + std::string(mode) + " "), std::string::npos);
  }
}

TEST(IpxeScriptTest, UnknownHostBadMacIsRefused) {
  auto script = render_unknown_host_script("zz:54:00:ab:cd:ef", {}, urls(), {});
  ASSERT_FALSE(script.ok());
  EXPECT_EQ(script.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace goldroot::netboot

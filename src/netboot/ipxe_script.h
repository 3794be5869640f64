// The per-host iPXE script served at /boot/<mac>.ipxe, and the script for
// MACs the inventory does not know.
//
// A host's script is the menu boot_menu.h describes: the host's mode as
// default, reset too for a normal host, with a timeout. Whoever sits at the
// keyboard cannot leave iPXE for the local disk (root on the machine can
// write a boot loader there); iPXE's own shell (Ctrl-B) can still edit a
// command line. Unregistered machines given the default image follow the
// same rule with the site's default mode (normal, reset or cache), so with
// the usual default, normal, they see normal and reset.
//
// Every mode boots the image's kernel with two initrds: the image's own and
// goldroot's (the initramfs-tools / dracut glue plus goldroot-boot), each
// named so that the kernel's EFI stub finds them through "initrd=<name>",
// which comes before boot_menu.h's kernel_arguments on the command line.
//
// The inputs are plain values: the server maps its inventory and exports
// onto them. Rendering is pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "netboot/boot_menu.h"

namespace goldroot::netboot {

using IpxeMenuOptions = MenuOptions;

// The script for a known host.
Result<std::string> render_host_script(const BootHost& host, const BootUrls& urls,
                                       const IpxeMenuOptions& options);

// What a MAC the inventory does not know gets.
enum class UnknownHostPolicy {
  kDefaultImage,  // boot the site's default image in `default_mode`, without a host name
  kRegistration,  // show the MAC, wait, then ask again (so registering it lets it boot)
};

struct UnknownHostOptions {
  UnknownHostPolicy policy = UnknownHostPolicy::kRegistration;
  std::string default_mode = "normal";  // kDefaultImage only; shell/install/maintenance are refused
  // kRegistration: how long the screen waits first; each time the machine
  // is still unknown the wait doubles, up to kRegistrationWaitCapSeconds
  // (a longer first wait stays as it is). The screen never reboots or
  // leaves iPXE.
  int retry_seconds = 30;
};
constexpr int kRegistrationWaitCapSeconds = 300;
// The iPXE setting the registration screen keeps its current wait in.
constexpr const char* kRegistrationWaitSetting = "goldroot-wait";

// `urls` is only read for kDefaultImage (and `urls.server` for the retry).
Result<std::string> render_unknown_host_script(std::string_view mac,
                                               const UnknownHostOptions& unknown,
                                               const BootUrls& urls,
                                               const IpxeMenuOptions& options);

}  // namespace goldroot::netboot

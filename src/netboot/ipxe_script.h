// The per-host iPXE script served at /boot/<mac>.ipxe, and the script for
// MACs the inventory does not know.
//
// A host's script is a menu with the host's configured mode as the default
// and a timeout, the way lab menus look. It offers only what the admin set
// (menu_modes): the configured mode, and for a normal host reset, which is
// safe to pick because it only discards this machine's own changes (it is
// the only mode goldroot-boot lets the command line ask for; any other host
// boots the mode its manifest names). Whoever sits at the
// keyboard cannot pick maintenance (keep their changes on disk), install,
// cache or shell unless that is the host's mode, nor leave iPXE for the local
// disk (root on the machine can write a boot loader there). A host in reset
// mode is offered reset alone: offering normal would let the keyboard skip
// the reset the admin asked for. Unregistered machines given the default
// image follow the same rule with the site's default mode (normal, reset or
// cache), so with the usual default, normal, they see normal and reset.
// The menu only narrows the choice: iPXE's own shell (Ctrl-B) can still edit
// a command line, so the server, not the menu, decides what a mode may do.
//
// Every mode boots the image's kernel
// with two initrds: the image's own and goldroot's (the initramfs-tools /
// dracut glue plus goldroot-boot), each named so that the kernel's EFI stub
// finds them through "initrd=<name>" on the command line. The command line
// carries
//   boot=goldroot goldroot.server=URL goldroot.manifest=URL
//   goldroot.mode=MODE goldroot.host=NAME goldroot.mac=MAC
//   BOOTIF=01-<mac hyphenated> ip=dhcp
// (BOOTIF and ip=dhcp make initramfs-tools configure the interface the
// machine booted from).
//
// The inputs are plain values: the server maps its inventory and exports
// onto them. Rendering is pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace goldroot::netboot {

// Every mode, in menu order.
const std::vector<std::string>& boot_modes();
// What the menu of a host in `mode` offers, in menu order: `mode`, and reset
// for a normal host.
// Empty for a mode that is not one of boot_modes().
std::vector<std::string> menu_modes(std::string_view mode);
// InvalidArgument naming the valid modes unless `mode` is one of them.
Status check_boot_mode(std::string_view mode);

// A host the inventory knows.
struct BootHost {
  std::string name;  // inventory name, e.g. "pc-11"
  std::string mac;   // the MAC it booted from; any form normalize_mac accepts
  std::string mode = "normal";
};

// Absolute URLs of what the script fetches. `server` is the boot server's
// base URL ("http://10.0.0.1:8080"); the others usually live under it.
struct BootUrls {
  std::string server;
  // Where iPXE asks for its script again (after a failure, on the
  // registration screen): plain HTTP, since iPXE does not hold the pin of
  // an https `server`. Empty: `server`.
  std::string script_server;
  std::string kernel;
  std::string initrd;           // the image's own initrd
  std::string goldroot_initrd;  // goldroot's initrd, appended after the image's
  std::string manifest;         // the signed boot manifest for this MAC
};

struct IpxeMenuOptions {
  int timeout_seconds = 5;  // 0 boots the default at once, without a menu
  std::string title = "goldroot";
  // Appended to every kernel command line, e.g. "console=ttyS0 quiet".
  std::string extra_kernel_arguments;
};

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

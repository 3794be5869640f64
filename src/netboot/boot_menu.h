// What every boot loader's menu shares, so that iPXE's script
// (ipxe_script.h) and GRUB's configuration (grub_config.h) offer the same
// modes and boot the same kernel command line.
//
// A host's menu has its configured mode as the default and a timeout, the
// way lab menus look. It offers only what the admin set (menu_modes): the
// configured mode, and for a normal host reset, which is safe to pick
// because it only discards this machine's own changes (it is the only mode
// goldroot-boot lets the command line ask for; any other host boots the
// mode its manifest names). A host in reset mode is offered reset alone:
// offering normal would let the keyboard skip the reset the admin asked for.
// The menu only narrows the choice: a boot loader's shell can still edit a
// command line, so the server, not the menu, decides what a mode may do.
//
// The kernel command line (kernel_arguments) carries
//   boot=goldroot goldroot.server=URL goldroot.manifest=URL
//   goldroot.mode=MODE goldroot.host=NAME goldroot.mac=MAC
//   BOOTIF=01-<mac hyphenated> ip=dhcp
// (BOOTIF and ip=dhcp make initramfs-tools configure the interface the
// machine booted from), then the admin's extra arguments.
//
// Pure and thread-safe.
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
// The menu line of `mode` ("Normal: the golden image, …"); "" for no mode.
const char* describe_mode(std::string_view mode);
// Modes an unregistered machine may be given (nothing that writes local
// disks or opens a shell): InvalidArgument for the others.
Status check_unregistered_mode(std::string_view mode);

// A host the inventory knows.
struct BootHost {
  std::string name;  // inventory name, e.g. "pc-11"
  std::string mac;   // the MAC it booted from; any form normalize_mac accepts
  std::string mode = "normal";
};

// Absolute URLs of what a boot fetches. `server` is the boot server's
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

struct MenuOptions {
  int timeout_seconds = 5;  // 0 boots the default at once, without a menu
  std::string title = "goldroot";
  // Appended to every kernel command line, e.g. "console=ttyS0 quiet".
  std::string extra_kernel_arguments;
};

// InvalidArgument unless `name` is 1-63 letters, digits, '-', '_' or '.'.
Status check_menu_host_name(std::string_view name);
// The timeout's range; no control character or '$' in title and arguments.
Status check_menu_options(const MenuOptions& options);
// InvalidArgument unless `url` is http(s) without blanks, control characters or '$'.
Status check_boot_url(std::string_view what, std::string_view url);

// `url` without trailing slashes.
std::string trimmed_base(std::string_view url);

// The kernel command line for booting `mode` from `mac` (the normalized
// form, or a boot loader variable that expands to it) as `host_name` ("":
// an unregistered machine), without the initrd= names a loader may need.
std::string kernel_arguments(std::string_view mode, std::string_view host_name,
                             std::string_view mac, std::string_view mac_hyphenated,
                             const BootUrls& urls, const MenuOptions& options);

}  // namespace goldroot::netboot

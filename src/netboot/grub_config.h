// GRUB configurations for UEFI machines that boot through Debian's signed
// shim and signed network GRUB (grubnetx64.efi.signed), as Secure Boot
// requires: the boot_menu.h menu of the iPXE script, read by GRUB over TFTP.
//
// Debian's signed GRUB has no HTTP and, under Secure Boot, loads no module,
// so everything it reads comes from dnsmasq's TFTP root, where
// `goldroot serve` writes (grub_tree.h in bootserver/):
//   grub/grub.cfg          render_grub_main_config(): the booting MAC's own
//                          file, else unknown.cfg (GRUB sets $prefix to
//                          (tftp,SERVER)/grub and $net_default_mac to the
//                          MAC it booted from, lowercase with colons)
//   grub/hosts/<mac>.cfg   render_grub_host_config(), one per MAC
//   grub/unknown.cfg       render_grub_unknown_config()
//   boot/…                 kernels and initrds (GrubFiles names them)
// The TFTP root is public (TFTP has no authentication): these files hold
// what an iPXE script holds, nothing secret.
//
// GRUB runs a shell-like language: every value put into a configuration is
// single-quoted, and values that could leave the quotes (a quote, a
// backslash, a control character, a '$') are refused, so neither a host
// name nor a kernel argument can add a GRUB command. The command line is
// boot_menu.h's kernel_arguments, without the initrd= names iPXE needs (GRUB
// hands its initrds to the kernel itself). Pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "netboot/boot_menu.h"
#include "netboot/ipxe_script.h"

namespace goldroot::netboot {

// Where the configurations live under the TFTP root, and the variable
// GRUB keeps the booting MAC in.
inline constexpr char kGrubDirectory[] = "grub";
inline constexpr char kGrubMacVariable[] = "${net_default_mac}";

// What GRUB loads, as paths from the TFTP root ("/boot/<sha256>"): letters,
// digits, '/', '.', '_' and '-' only.
struct GrubFiles {
  std::string kernel;
  std::string initrd;           // the image's own
  std::string goldroot_initrd;  // goldroot's, loaded after the image's
};

// grub/grub.cfg: the host's configuration, else the one for unknown MACs.
std::string render_grub_main_config();

// grub/hosts/<mac>.cfg for `host` booting from host.mac. `urls` gives the
// server and manifest on the command line (kernel and initrd URLs are not
// read: GRUB loads `files`).
Result<std::string> render_grub_host_config(const BootHost& host, const BootUrls& urls,
                                            const GrubFiles& files, const MenuOptions& options);

// grub/unknown.cfg. kRegistration: the MAC, a wait of retry_seconds, then
// the MAC's own file again, for ever (registering the MAC lets it boot).
// kDefaultImage: `files` in the default mode, the MAC taken from GRUB; here
// `urls.manifest` is the manifest URL up to the MAC (".../api/v1/boot/"),
// which GRUB completes. `files` and `urls` are only read for kDefaultImage.
Result<std::string> render_grub_unknown_config(const UnknownHostOptions& unknown,
                                               const BootUrls& urls, const GrubFiles& files,
                                               const MenuOptions& options);

// A host's file when the server cannot say what it boots (its channel
// points nowhere, its image is not exported): `message` on the screen, then
// a reboot after `retry_seconds`, which asks the server again (GRUB cannot
// read a configuration again without nesting deeper each time). Characters
// GRUB would read are blanked out of `message`.
std::string render_grub_trouble_config(std::string_view message, int retry_seconds = 30);

}  // namespace goldroot::netboot

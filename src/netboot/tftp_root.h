// The TFTP root dnsmasq serves: a directory in the site holding copies of
// Debian's iPXE binaries (undionly.kpxe for BIOS, ipxe.efi for UEFI), and
// for Secure Boot of Debian's signed shim, MokManager and network GRUB
// under the names shim asks for (dnsmasq_config.h), beside the GRUB
// configurations and boot files bootserver/grub_tree.h keeps there. Copies
// rather than /usr/lib/ipxe itself keep the served set small and let the
// root be readable by the user dnsmasq drops to. Not thread-safe for one
// directory.
#pragma once

#include <string>

#include "base/result.h"

namespace goldroot::netboot {

inline constexpr char kDebianIpxeDirectory[] = "/usr/lib/ipxe";

// Creates `directory` (mode 0755) and copies the iPXE binaries from
// `ipxe_directory` into it when missing or different, atomically. A missing
// binary is a NotFound error that says to install the ipxe package.
Status prepare_tftp_root(const std::string& directory,
                         const std::string& ipxe_directory = kDebianIpxeDirectory);

// Debian's signed Secure Boot loaders (packages shim-signed and
// grub-efi-amd64-signed).
struct SecureBootSources {
  std::string shim = "/usr/lib/shim/shimx64.efi.signed";
  std::string mok_manager = "/usr/lib/shim/mmx64.efi.signed";
  std::string grub = "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed";
};

// Copies them into `directory` (made by prepare_tftp_root) as shimx64.efi,
// mmx64.efi and grubx64.efi when missing or different. False, copying
// nothing, when one is not installed: only uefi=shim machines need them.
Result<bool> prepare_secure_boot_loaders(const std::string& directory,
                                         const SecureBootSources& sources = {});

// Every file goldroot writes into the TFTP root goes through these two, so
// a machine in the middle of a download keeps the file it opened:
// `contents` at `path` (0644, readable by dnsmasq's user), and a symbolic
// link at `path` to `target`, each through a temporary name renamed into
// place, and untouched when it already holds them.
Status write_if_changed(const std::string& path, const std::string& contents);
Status link_if_changed(const std::string& path, const std::string& target);

}  // namespace goldroot::netboot

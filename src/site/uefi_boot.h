// UefiBoot: what a UEFI machine gets from the PXE ROM's TFTP answer
// (netboot/dnsmasq_config.h). A site has a default (SiteSettings::uefi,
// which unregistered machines get too) and a lab may set its own (Lab::uefi);
// fleet/effective.h says which one holds for a host. It lives here, below
// the fleet, because the site's settings carry it. BIOS machines always get
// iPXE. Pure functions.
#pragma once

#include <string_view>

#include "base/result.h"

namespace goldroot {

enum class UefiBoot {
  kIpxe,  // Debian's ipxe.efi, then the HTTP iPXE script (unsigned: Secure Boot refuses it)
  kShim,  // Debian's signed shim and network GRUB, then GRUB configurations over TFTP
  // The host's own unified kernel image, signed with the site's Secure Boot
  // key (initrd/uki.h), by TFTP; unregistered machines, which have none,
  // get shim and GRUB
  kUki,
};

const char* uefi_boot_name(UefiBoot boot);  // "ipxe", "shim", "uki"
// One of ipxe, shim, uki; anything else is one sentence naming them.
Result<UefiBoot> parse_uefi_boot(std::string_view text);

}  // namespace goldroot

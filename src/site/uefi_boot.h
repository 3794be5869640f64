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
  // Reserved for signed unified kernel images (another part of #17); until
  // they exist a lab may already say uki and gets shim and GRUB.
  // uki: netboot/dnsmasq_config.cc treats it as kShim.
  kUki,
};

const char* uefi_boot_name(UefiBoot boot);  // "ipxe", "shim", "uki"
// One of ipxe, shim, uki; anything else is one sentence naming them.
Result<UefiBoot> parse_uefi_boot(std::string_view text);

}  // namespace goldroot

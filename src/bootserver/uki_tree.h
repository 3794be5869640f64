// The signed-kernel side of dnsmasq's TFTP root, for UEFI machines of labs
// set to uki (site/uefi_boot.h): every MAC of such a host gets
//   <mac hyphenated>/goldroot.efi
// a link to the signed unified kernel image of the image and mode the host
// boots (BootService::signed_kernel_image), which dnsmasq serves it through
// tftp-unique-root=mac and its firmware checks against the site's Secure
// Boot key. Written with the GRUB files (grub_tree.h), whenever the
// inventory, a channel or the site's settings change; the directories of
// MACs that went are removed.
//
// A host whose image cannot be built gets no file (its firmware's TFTP
// request fails) and a line on serve's stderr saying why. Images hold
// nothing secret: the same holds as for the GRUB files. Not thread-safe
// for one root.
#pragma once

#include "bootserver/boot_service.h"
#include "bootserver/grub_tree.h"
#include "fleet/inventory.h"
#include "site/site.h"

namespace goldroot {

Status write_uki_tree(BootService& service, Inventory& inventory, const SiteSettings& settings,
                      const GrubTreeOptions& options);

}  // namespace goldroot

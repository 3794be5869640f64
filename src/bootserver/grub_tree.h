// The GRUB side of dnsmasq's TFTP root, for UEFI machines that boot through
// Debian's signed shim and GRUB (Secure Boot; site/uefi_boot.h): GRUB
// reads only TFTP, so `goldroot serve --dhcp` keeps under the TFTP root
//   grub/grub.cfg            the MAC's menu, else unknown.cfg
//   grub/unknown.cfg         the --unknown policy for unregistered MACs
//   grub/hosts/<mac>.cfg     a menu per MAC of every host set to shim
//                            (netboot/grub_config.h)
//   boot/<sha256>            the kernels and image initrds those menus load,
//   boot/goldroot-<sha256>.img  and goldroot initrds: symbolic links into
//                            the store and exports, never copies
// and writes it again when the inventory, a channel or the site's settings
// change (serve's watcher). Every file is written to a temporary name and
// renamed into place; files of hosts and images that went are removed.
//
// The TFTP root is readable by anyone on the lab network: it holds only what
// the iPXE scripts hold (menus, public URLs, the image's kernel and
// initrds), never a host layer or key. Not thread-safe for one root.
#pragma once

#include <string>

#include "bootserver/boot_service.h"
#include "fleet/inventory.h"
#include "site/site.h"

namespace goldroot {

struct GrubTreeOptions {
  std::string tftp_root;
  // The server's URL as clients reach it ("http://10.0.0.1:8080"), the
  // --url dnsmasq hands out: GRUB cannot say which address it used.
  std::string base_url;
};

// Writes the tree for `inventory` (read in one read transaction) and the
// site's `settings`. A host whose image cannot be served gets a file that
// says why; only an unwritable root is an error.
Status write_grub_tree(BootService& service, Inventory& inventory, const SiteSettings& settings,
                       const GrubTreeOptions& options);

}  // namespace goldroot

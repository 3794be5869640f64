// The dnsmasq settings `goldroot serve --dhcp` runs with, made from the
// inventory: every network becomes a DHCP network (full mode: with its
// gateway and DNS, and the pool if one is given), every host with its MACs
// and fixed IP a dhcp-host line, tagged with the UEFI loader its lab (else
// the site, `site_uefi`) chooses; unknown MACs get the site's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fleet/inventory.h"
#include "site/uefi_boot.h"
#include "netboot/dnsmasq_config.h"

namespace goldroot {

struct DhcpOptions {
  netboot::DhcpMode mode = netboot::DhcpMode::kProxy;
  std::vector<std::string> interfaces;
  std::string boot_server_url;   // "http://10.0.0.1:8080"
  std::string pool_start, pool_end;  // full mode, optional: goes to the network holding them
};

Result<netboot::DnsmasqSettings> dhcp_settings(Inventory& inventory, const DhcpOptions& options,
                                               UefiBoot site_uefi = UefiBoot::kIpxe);

// The loader dnsmasq gives a UEFI machine set to `boot`.
netboot::UefiLoader uefi_loader(UefiBoot boot);

}  // namespace goldroot

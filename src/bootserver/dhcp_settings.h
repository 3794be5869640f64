// The dnsmasq settings `goldroot serve --dhcp` runs with, made from the
// inventory: every network becomes a DHCP network (full mode: with its
// gateway and DNS, and the pool if one is given), every host with its MACs
// and fixed IP a dhcp-host line.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fleet/inventory.h"
#include "netboot/dnsmasq_config.h"

namespace goldroot {

struct DhcpOptions {
  netboot::DhcpMode mode = netboot::DhcpMode::kProxy;
  std::vector<std::string> interfaces;
  std::string boot_server_url;   // "http://10.0.0.1:8080"
  std::string pool_start, pool_end;  // full mode, optional: goes to the network holding them
};

Result<netboot::DnsmasqSettings> dhcp_settings(Inventory& inventory, const DhcpOptions& options);

}  // namespace goldroot

#include "bootserver/dhcp_settings.h"

#include <map>

#include "fleet/effective.h"
#include "net/address.h"

namespace goldroot {

netboot::UefiLoader uefi_loader(UefiBoot boot) {
  switch (boot) {
    case UefiBoot::kIpxe: return netboot::UefiLoader::kIpxe;
    case UefiBoot::kShim: return netboot::UefiLoader::kShim;
    case UefiBoot::kUki: return netboot::UefiLoader::kUki;
  }
  return netboot::UefiLoader::kIpxe;
}

Result<netboot::DnsmasqSettings> dhcp_settings(Inventory& inventory, const DhcpOptions& options,
                                               UefiBoot site_uefi) {
  netboot::DnsmasqSettings settings;
  settings.mode = options.mode;
  settings.interfaces = options.interfaces;
  settings.boot_server_url = options.boot_server_url;
  bool pool_placed = options.pool_start.empty();
  for (const Network& network : TRY(inventory.networks())) {
    netboot::DhcpNetwork dhcp;
    dhcp.cidr = network.cidr;
    if (network.gateway) dhcp.gateway = *network.gateway;
    dhcp.dns_servers = network.dns;
    if (!options.pool_start.empty()) {
      Cidr cidr = TRY(parse_cidr(network.cidr));
      Ipv4 start = TRY(parse_ipv4(options.pool_start));
      if (cidr.contains(start)) {
        dhcp.range_start = options.pool_start;
        dhcp.range_end = options.pool_end;
        pool_placed = true;
      }
    }
    settings.networks.push_back(std::move(dhcp));
  }
  if (settings.networks.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      "--dhcp needs at least one network; add one with 'goldroot network add CIDR'");
  if (!pool_placed)
    return make_error(ErrorCode::kInvalidArgument,
                      "the DHCP pool " + options.pool_start + "-" + options.pool_end +
                          " is in none of the inventory's networks");
  settings.unknown_uefi = uefi_loader(site_uefi);
  std::map<std::string, Lab> labs;
  for (Lab& lab : TRY(inventory.labs())) labs.emplace(lab.name, std::move(lab));
  // Proxy mode too: dnsmasq then hands out no address, only the loader.
  for (const Host& host : TRY(inventory.hosts())) {
    // Nobody vouched for its MAC or name: it gets a pool address as
    // before it booted, and its generated name stays out of DHCP (and
    // its firmware the loader of unknown MACs).
    if (host.unregistered) continue;
    netboot::DhcpHost dhcp;
    dhcp.name = host.name;
    dhcp.macs = host.macs;
    if (host.ip) dhcp.ip = *host.ip;
    auto lab = host.lab ? labs.find(*host.lab) : labs.end();
    dhcp.uefi = uefi_loader(effective_uefi_boot(lab == labs.end() ? nullptr : &lab->second,
                                                site_uefi));
    settings.hosts.push_back(std::move(dhcp));
  }
  return settings;
}

}  // namespace goldroot

#include "bootserver/dhcp_settings.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include "net/address.h"

namespace goldroot {

Result<server::DnsmasqSettings> dhcp_settings(Inventory& inventory, const DhcpOptions& options) {
  server::DnsmasqSettings settings;
  settings.mode = options.mode;
  settings.interfaces = options.interfaces;
  settings.boot_server_url = options.boot_server_url;
  bool pool_placed = options.pool_start.empty();
  for (const Network& network : TRY(inventory.networks())) {
    server::DhcpNetwork dhcp;
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
  if (options.mode == server::DhcpMode::kFull) {
    for (const Host& host : TRY(inventory.hosts())) {
      server::DhcpHost dhcp;
      dhcp.name = host.name;
      dhcp.macs = host.macs;
      if (host.ip) dhcp.ip = *host.ip;
      settings.hosts.push_back(std::move(dhcp));
    }
  }
  return settings;
}

Result<std::string> interface_address(const std::string& interface) {
  struct ifaddrs* addresses = nullptr;
  if (::getifaddrs(&addresses) != 0) return errno_error("listing network interfaces", errno);
  std::optional<std::string> found;
  for (struct ifaddrs* a = addresses; a; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || interface != a->ifa_name) continue;
    char text[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<struct sockaddr_in*>(a->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text)) {
      found = text;
      break;
    }
  }
  ::freeifaddrs(addresses);
  if (!found)
    return make_error(ErrorCode::kNotFound,
                      "interface " + interface + " has no IPv4 address; give --url");
  return *found;
}

}  // namespace goldroot

#include "netboot/dnsmasq_config.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstdint>
#include <map>
#include <optional>

#include "base/strings.h"
#include "netboot/mac_address.h"

namespace goldroot::netboot {

namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

std::optional<uint32_t> parse_ipv4(const std::string& text) {
  in_addr address{};
  if (inet_pton(AF_INET, text.c_str(), &address) != 1) return std::nullopt;
  return ntohl(address.s_addr);
}

std::string format_ipv4(uint32_t value) {
  in_addr address{htonl(value)};
  char buffer[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &address, buffer, sizeof buffer);
  return buffer;
}

struct Subnet {
  uint32_t network = 0;
  uint32_t mask = 0;
  bool contains(uint32_t address) const { return (address & mask) == network; }
};

Result<Subnet> parse_cidr(const std::string& cidr) {
  size_t slash = cidr.find('/');
  uint64_t prefix = 0;
  std::optional<uint32_t> address;
  if (slash != std::string::npos) address = parse_ipv4(cidr.substr(0, slash));
  if (slash == std::string::npos || !address ||
      !parse_uint64(std::string_view(cidr).substr(slash + 1), &prefix) || prefix < 8 || prefix > 30)
    return invalid("network '" + cidr + "' is not an IPv4 CIDR such as 10.0.0.0/24 (prefix 8-30)");
  Subnet subnet;
  subnet.mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  subnet.network = *address & subnet.mask;
  if (subnet.network != *address)
    return invalid("network '" + cidr + "' has host bits set; did you mean " +
                   format_ipv4(subnet.network) + "/" + std::to_string(prefix) + "?");
  return subnet;
}

// An address of `what` that must lie inside `subnet`, neither its network
// nor its broadcast address.
Result<uint32_t> address_in(const std::string& what, const std::string& text, const Subnet& subnet,
                            const std::string& cidr) {
  auto address = parse_ipv4(text);
  if (!address) return invalid(what + " '" + text + "' is not an IPv4 address");
  if (!subnet.contains(*address) || *address == subnet.network ||
      *address == (subnet.network | ~subnet.mask))
    return invalid(what + " " + text + " is not a host address in " + cidr);
  return *address;
}

// Values end up inside dnsmasq option lines: a comma, quote, '#' or blank
// would split or end the option, so refuse them instead of escaping.
Status check_plain(const std::string& what, const std::string& value) {
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isspace(u) || std::iscntrl(u) || c == ',' || c == '"' || c == '#' || c == '\\')
      return invalid(what + " '" + value +
                     "' must not contain blanks, control characters, ',', '\"', '#' or '\\'");
  }
  return ok_status();
}

Status check_path(const std::string& what, const std::string& path) {
  if (path.empty() || path[0] != '/') return invalid(what + " must be an absolute path");
  return check_plain(what, path);
}

Status check_host_name(const std::string& name) {
  bool good = !name.empty() && name.size() <= 63 && name.front() != '-' && name.back() != '-';
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') good = false;
  if (!good)
    return invalid("host name '" + name +
                   "' is not a DHCP host name (letters, digits and inner '-', at most 63)");
  return ok_status();
}

Status check_lease_time(const std::string& lease_time) {
  if (lease_time == "infinite") return ok_status();
  std::string_view digits = lease_time;
  if (!digits.empty() && (digits.back() == 'm' || digits.back() == 'h' || digits.back() == 'd' ||
                          digits.back() == 'w'))
    digits.remove_suffix(1);
  uint64_t value = 0;
  if (!parse_uint64(digits, &value) || value == 0)
    return invalid("lease time '" + lease_time + "' is not like 45m, 12h, 7d or infinite");
  return ok_status();
}

struct CheckedNetwork {
  const DhcpNetwork* network;
  Subnet subnet;
};

Result<std::vector<CheckedNetwork>> check_networks(const DnsmasqSettings& settings) {
  if (settings.networks.empty()) return invalid("DHCP needs at least one network");
  std::vector<CheckedNetwork> checked;
  for (const auto& network : settings.networks) {
    Subnet subnet = TRY(parse_cidr(network.cidr));
    for (const auto& other : checked)
      if ((subnet.network & other.subnet.mask) == other.subnet.network ||
          (other.subnet.network & subnet.mask) == subnet.network)
        return invalid("network " + network.cidr + " overlaps " + other.network->cidr);
    if (settings.mode == DhcpMode::kFull) {
      if (network.range_start.empty() != network.range_end.empty())
        return invalid("network " + network.cidr + " needs both ends of its range, or neither");
      if (!network.range_start.empty()) {
        uint32_t start = TRY(address_in("range start", network.range_start, subnet, network.cidr));
        uint32_t end = TRY(address_in("range end", network.range_end, subnet, network.cidr));
        if (start > end)
          return invalid("range " + network.range_start + "-" + network.range_end + " of " +
                         network.cidr + " ends before it starts");
      }
      if (!network.gateway.empty())
        TRY(address_in("gateway", network.gateway, subnet, network.cidr));
      for (const auto& dns : network.dns_servers)
        if (!parse_ipv4(dns)) return invalid("DNS server '" + dns + "' is not an IPv4 address");
      TRY(check_lease_time(network.lease_time));
    }
    checked.push_back({&network, subnet});
  }
  return checked;
}

Result<std::string> render_hosts(const DnsmasqSettings& settings,
                                 const std::vector<CheckedNetwork>& networks) {
  std::string out = "# dhcp-hostsfile generated by goldroot serve; re-read on SIGHUP.\n";
  bool proxy = settings.mode == DhcpMode::kProxy;
  if (proxy) {
    out += "# Proxy mode: the site's own DHCP server hands out addresses; these lines\n";
    out += "# only tag each host with the UEFI loader it gets.\n";
  }
  std::map<std::string, std::string> mac_owner;
  std::map<uint32_t, std::string> ip_owner;
  std::map<std::string, std::string> name_owner;
  for (const auto& host : settings.hosts) {
    if (!proxy) {  // proxy lines carry no name
      TRY(check_host_name(host.name));
      std::string lower_name = host.name;
      for (char& c : lower_name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (auto [it, added] = name_owner.emplace(lower_name, host.name); !added)
        return invalid("host name " + host.name + " is used twice");
    }
    if (host.macs.empty()) return invalid("host " + host.name + " has no MAC address");
    std::string line;
    for (const auto& raw_mac : host.macs) {
      std::string mac = TRY(normalize_mac(raw_mac).context("host " + host.name));
      if (auto [it, added] = mac_owner.emplace(mac, host.name); !added)
        return invalid("MAC " + mac + " belongs to both " + it->second + " and " + host.name);
      line += mac + ",";
    }
    // Tags only where they change an answer (a shim host; in proxy mode,
    // where a line exists only to tag, an iPXE host beside unknown MACs
    // given shim), so that a site without shim keeps a tag-free hosts file
    // (DnsmasqSupervisor restarts dnsmasq for a tagged one rather than
    // sending SIGHUP).
    if (host.uefi == UefiLoader::kShim) line += "set:shim,";
    if (host.uefi == UefiLoader::kUki) line += "set:uki,";
    if (proxy) {
      if (host.uefi == UefiLoader::kIpxe && settings.unknown_uefi == UefiLoader::kIpxe) continue;
      if (host.uefi == UefiLoader::kIpxe) line += "set:uefi-ipxe,";
      line.pop_back();
      out += line + "\n";
      continue;
    }
    if (!host.ip.empty()) {
      auto address = parse_ipv4(host.ip);
      if (!address) return invalid("host " + host.name + "'s IP '" + host.ip + "' is not IPv4");
      bool inside = false;
      for (const auto& network : networks)
        if (network.subnet.contains(*address)) inside = true;
      if (!inside)
        return invalid("host " + host.name + "'s IP " + host.ip +
                       " is in none of the DHCP networks");
      if (auto [it, added] = ip_owner.emplace(*address, host.name); !added)
        return invalid("IP " + host.ip + " belongs to both " + it->second + " and " + host.name);
      line += format_ipv4(*address) + ",";
    }
    out += line + host.name + "\n";
  }
  return out;
}

std::string netmask_of(const Subnet& subnet) { return format_ipv4(subnet.mask); }

}  // namespace

std::string ipxe_script_url_template(const std::string& boot_server_url) {
  std::string base = boot_server_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  // netX is the interface iPXE is booting from, so a machine with several
  // NICs asks for the script of the one that got this answer.
  return base + "/boot/${netX/mac}.ipxe";
}

Result<DnsmasqFiles> render_dnsmasq(const DnsmasqSettings& settings) {
  if (!starts_with(settings.boot_server_url, "http://") &&
      !starts_with(settings.boot_server_url, "https://"))
    return invalid("boot server URL '" + settings.boot_server_url +
                   "' must start with http:// or https://");
  TRY(check_plain("boot server URL", settings.boot_server_url));
  if (settings.boot_server_url.find('$') != std::string::npos)
    return invalid("boot server URL must not contain '$'");
  if (settings.interfaces.empty()) return invalid("DHCP needs at least one interface to serve");
  for (const auto& interface : settings.interfaces) {
    TRY(check_plain("interface", interface));
    if (interface.empty() || interface.size() > 15)
      return invalid("interface name '" + interface + "' must be 1-15 characters");
  }
  TRY(check_path("TFTP root", settings.tftp_root));
  TRY(check_path("hosts file", settings.hosts_file));
  TRY(check_path("pid file", settings.pid_file));
  TRY(check_path("lease file", settings.lease_file));
  if (!settings.log_file.empty()) TRY(check_path("log file", settings.log_file));
  if (!settings.user.empty()) TRY(check_plain("user", settings.user));
  std::vector<CheckedNetwork> networks = TRY(check_networks(settings));

  DnsmasqFiles files;
  files.hosts = TRY(render_hosts(settings, networks));

  bool full = settings.mode == DhcpMode::kFull;
  std::string& c = files.config;
  c += "# dnsmasq configuration generated by goldroot serve (";
  c += full ? "--dhcp full" : "--dhcp proxy";
  c += ").\n# Regenerated when the inventory changes; edits are not kept.\n\n";
  c += "# DHCP and TFTP only: no DNS, nothing from /etc.\n";
  c += "port=0\nno-resolv\nno-hosts\n";
  c += "bind-interfaces\n";
  for (const auto& interface : settings.interfaces) c += "interface=" + interface + "\n";
  c += "pid-file=" + settings.pid_file + "\n";
  c += "dhcp-leasefile=" + settings.lease_file + "\n";
  c += "dhcp-hostsfile=" + settings.hosts_file + "\n";
  if (!settings.user.empty()) c += "user=" + settings.user + "\n";
  c += settings.log_file.empty() ? "log-facility=-\n" : "log-facility=" + settings.log_file + "\n";
  c += "log-dhcp\n";

  c += "\n# Networks.\n";
  for (size_t i = 0; i < networks.size(); ++i) {
    const DhcpNetwork& network = *networks[i].network;
    const Subnet& subnet = networks[i].subnet;
    if (!full) {
      c += "dhcp-range=" + format_ipv4(subnet.network) + ",proxy," + netmask_of(subnet) + "\n";
      continue;
    }
    // The tag carries the network's own options to its clients.
    std::string tag = "net" + std::to_string(i);
    if (network.range_start.empty()) {
      c += "dhcp-range=set:" + tag + "," + format_ipv4(subnet.network) + ",static," +
           netmask_of(subnet) + "," + network.lease_time + "\n";
    } else {
      c += "dhcp-range=set:" + tag + "," + network.range_start + "," + network.range_end + "," +
           netmask_of(subnet) + "," + network.lease_time + "\n";
    }
    if (!network.gateway.empty())
      c += "dhcp-option=tag:" + tag + ",option:router," + network.gateway + "\n";
    if (!network.dns_servers.empty())
      c += "dhcp-option=tag:" + tag + ",option:dns-server," + join(network.dns_servers, ",") + "\n";
  }
  if (full) {
    // The only DHCP server here: answer at once, even for leases it forgot.
    c += "dhcp-authoritative\n";
  }

  std::string script_url = ipxe_script_url_template(settings.boot_server_url);
  c += "\n# Network boot: PXE ROMs chainload Debian's iPXE over TFTP; iPXE fetches\n";
  c += "# its per-MAC script over HTTP. iPXE marks its requests with user class\n";
  c += "# \"iPXE\" and option 175; client-arch (option 93) tells BIOS from UEFI.\n";
  c += "enable-tftp\n";
  c += "tftp-root=" + settings.tftp_root + "\n";
  c += "dhcp-userclass=set:ipxe,iPXE\n";
  c += "dhcp-match=set:ipxe,175\n";
  c += "dhcp-match=set:bios,option:client-arch,0\n";
  c += "dhcp-match=set:efi64,option:client-arch,7\n";
  c += "dhcp-match=set:efi64,option:client-arch,9\n";
  // Keep the boot file name in its own BOOTP field: some PXE ROMs look only there.
  c += "dhcp-no-override\n";
  c += "# Secure Boot: UEFI ROMs tagged shim (their host's line, or unknown MACs by\n";
  c += "# the site's setting) get Debian's signed shim, which loads the signed GRUB.\n";
  // Unknown MACs have no unified kernel image of their own: a site set to
  // uki gives them shim and GRUB too.
  if (settings.unknown_uefi != UefiLoader::kIpxe) c += "tag-if=set:shim,tag:!known\n";
  c += "tag-if=set:pxe-shim,tag:!ipxe,tag:shim\n";
  bool any_uki = false;
  for (const auto& host : settings.hosts) any_uki |= host.uefi == UefiLoader::kUki;
  if (any_uki) {
    c += "# Secure Boot with the site's key: UEFI ROMs tagged uki get their host's\n";
    c += "# signed unified kernel image, found under the TFTP root's <mac>/ directory.\n";
    c += "tftp-unique-root=mac\n";
    c += "tag-if=set:pxe-uki,tag:!ipxe,tag:uki\n";
  }
  c += std::string("tag-if=set:pxe-ipxe-efi,tag:!ipxe,tag:!shim") + (any_uki ? ",tag:!uki" : "") +
       "\n";
  c += "dhcp-boot=tag:ipxe," + script_url + "\n";
  if (full) {
    c += "dhcp-boot=tag:!ipxe,tag:bios," + std::string(kIpxeBiosLoader) + "\n";
    c += "dhcp-boot=tag:pxe-ipxe-efi,tag:efi64," + std::string(kIpxeEfiLoader) + "\n";
    c += "dhcp-boot=tag:pxe-shim,tag:efi64," + std::string(kShimLoader) + "\n";
    if (any_uki) c += "dhcp-boot=tag:pxe-uki,tag:efi64," + std::string(kUkiBootFile) + "\n";
  } else {
    // A proxy answers PXE ROMs with boot services; iPXE, matching none of
    // them, gets the dhcp-boot URL above in the proxy offer.
    c += "pxe-service=tag:!ipxe,x86PC,\"goldroot: iPXE (BIOS)\"," + std::string(kIpxeBiosLoader) +
         "\n";
    for (const char* architecture : {"X86-64_EFI", "BC_EFI"}) {
      c += "pxe-service=tag:pxe-ipxe-efi," + std::string(architecture) +
           ",\"goldroot: iPXE (UEFI)\"," + kIpxeEfiLoader + "\n";
      c += "pxe-service=tag:pxe-shim," + std::string(architecture) +
           ",\"goldroot: shim (UEFI Secure Boot)\"," + kShimLoader + "\n";
      if (any_uki)
        c += "pxe-service=tag:pxe-uki," + std::string(architecture) +
             ",\"goldroot: signed kernel image (UEFI Secure Boot)\"," + kUkiBootFile + "\n";
    }
  }
  return files;
}

}  // namespace goldroot::netboot

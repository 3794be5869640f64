// Generates dnsmasq's configuration for `goldroot serve --dhcp proxy|full`
// from plain inventory values (the server maps its hosts, labs and networks
// onto them). dnsmasq then answers DHCP (all of it, or only the PXE part
// beside an existing DHCP server) and serves Debian's iPXE binaries over
// TFTP; iPXE chainloads to http://SERVER/boot/<mac>.ipxe.
//
// Two files come out:
//   config  the main file, passed with --conf-file; changing it needs a
//           restart of dnsmasq.
//   hosts   the dhcp-hostsfile with one line per host (MACs, fixed IP,
//           name); dnsmasq re-reads it on SIGHUP, so inventory edits of
//           hosts never interrupt DHCP (see DnsmasqSupervisor).
//
// The chainload trick: a PXE ROM gets undionly.kpxe (BIOS, client-arch 0)
// or ipxe.efi (UEFI, client-arch 7 or 9) over TFTP; iPXE then asks again,
// marked by user class "iPXE" (and option 175), and gets the HTTP URL of
// its script. The URL carries ${netX/mac}, which iPXE expands to the MAC of
// the interface it boots from, in the lowercase colon form.
//
// Secure Boot: a UEFI ROM whose host is set to UefiLoader::kShim (its
// dhcp-host line sets the tag "shim"; unknown MACs get it from
// unknown_uefi) gets Debian's signed shimx64.efi instead of ipxe.efi. shim
// loads grubx64.efi (Debian's signed network GRUB) from the same TFTP
// directory, and GRUB reads grub/grub.cfg (grub_config.h). BIOS ROMs keep
// undionly.kpxe.
//
// Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace goldroot::netboot {

// The iPXE binaries dnsmasq serves over TFTP, from Debian's ipxe package.
inline constexpr char kIpxeBiosLoader[] = "undionly.kpxe";
inline constexpr char kIpxeEfiLoader[] = "ipxe.efi";
// Debian's signed shim (shim-signed) and the names it loads next from the
// same TFTP directory: GRUB (grub-efi-amd64-signed's grubnetx64) and
// MokManager.
inline constexpr char kShimLoader[] = "shimx64.efi";
inline constexpr char kShimGrub[] = "grubx64.efi";
inline constexpr char kShimMokManager[] = "mmx64.efi";

// What a UEFI PXE ROM is given.
enum class UefiLoader {
  kIpxe,  // ipxe.efi, then the HTTP iPXE script
  kShim,  // shimx64.efi, then GRUB over TFTP (Secure Boot)
  // goldroot.efi: the host's own signed unified kernel image, which dnsmasq
  // (tftp-unique-root=mac) finds under the MAC's directory of the TFTP
  // root (netboot/mac_boot_files.h); Secure Boot with the site's key
  kUki,
};

// The name a UEFI ROM of a uki host asks for, under its MAC's directory.
inline constexpr char kUkiBootFile[] = "goldroot.efi";

enum class DhcpMode {
  kProxy,  // another DHCP server hands out addresses; dnsmasq adds the PXE boot answer
  kFull,   // dnsmasq hands out addresses too: fixed ones per MAC, a pool for the rest
};

struct DhcpNetwork {
  std::string cidr;  // "10.0.0.0/24"; every network dnsmasq answers on
  // Full mode: the pool for machines without a fixed IP. Both empty: only
  // hosts with a fixed IP get an address.
  std::string range_start;
  std::string range_end;
  std::string gateway;                   // full mode: DHCP option 3, optional
  std::vector<std::string> dns_servers;  // full mode: DHCP option 6, optional
  std::string lease_time = "12h";        // full mode: dnsmasq's syntax (45m, 12h, infinite)
};

struct DhcpHost {
  std::string name;               // DHCP host name (letters, digits, '-')
  std::vector<std::string> macs;  // any form normalize_mac accepts
  std::string ip;                 // fixed IPv4 address, or empty for one from the pool
  UefiLoader uefi = UefiLoader::kIpxe;
};

struct DnsmasqSettings {
  DhcpMode mode = DhcpMode::kProxy;
  std::vector<std::string> interfaces;  // dnsmasq binds only these
  std::vector<DhcpNetwork> networks;
  // Full mode: addresses, names and loaders. Proxy mode hands out no
  // addresses: only each host's UEFI loader is read.
  std::vector<DhcpHost> hosts;
  UefiLoader unknown_uefi = UefiLoader::kIpxe;  // what MACs of no host get
  std::string boot_server_url;  // "http://10.0.0.1:8080", as clients reach goldroot serve
  std::string tftp_root;        // holds undionly.kpxe and ipxe.efi (see prepare_tftp_root)
  std::string hosts_file;       // where the hosts file is written
  std::string pid_file;
  std::string lease_file;
  std::string log_file;  // dnsmasq's log; empty: stderr
  std::string user;      // user dnsmasq drops to; empty: its built-in default
};

struct DnsmasqFiles {
  std::string config;
  std::string hosts;
};

// The two files, or an InvalidArgument error in one sentence naming the
// bad value (malformed CIDR, an IP in no network, a MAC used twice, …).
Result<DnsmasqFiles> render_dnsmasq(const DnsmasqSettings& settings);

// The boot script URL template iPXE is given: BASE/boot/${netX/mac}.ipxe.
std::string ipxe_script_url_template(const std::string& boot_server_url);

}  // namespace goldroot::netboot

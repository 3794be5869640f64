// Network addresses as the inventory stores them: MAC addresses (canonical
// lower-case "52:54:00:12:34:56"), IPv4 addresses and IPv4 CIDR networks.
// Each parser returns one clear sentence on bad input. Plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot {

// Accepts six hex pairs separated by ':' or '-'; returns the canonical form.
Result<std::string> parse_mac(std::string_view text);
bool looks_like_mac(std::string_view text);

struct Ipv4 {
  uint32_t value = 0;
  std::string str() const;
  auto operator<=>(const Ipv4&) const = default;
};

// Strict dotted quad: four decimal numbers 0–255 without leading zeros.
Result<Ipv4> parse_ipv4(std::string_view text);
bool looks_like_ipv4(std::string_view text);

struct Cidr {
  Ipv4 network;
  int prefix = 0;

  std::string str() const;  // "10.1.0.0/24"
  // The name of its layer directory: '/' cannot be in a file name, so
  // "10.1.0.0/24" becomes "10.1.0.0_24".
  std::string layer_name() const;
  Ipv4 netmask() const;
  bool contains(Ipv4 address) const;
};

// "A.B.C.D/N" with no host bits set (10.1.0.5/24 is refused with a hint).
Result<Cidr> parse_cidr(std::string_view text);

// The host an authority names — a Host header, a URL's authority, a peer's
// "address:port": "lab-server:8080" -> "lab-server", "[::1]:8080" -> "::1",
// "10.0.0.1" -> "10.0.0.1". (A bare IPv6 address needs its brackets.)
std::string_view host_of_authority(std::string_view authority);

}  // namespace goldroot

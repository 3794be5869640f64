#include "net/interfaces.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cerrno>
#include <optional>

namespace goldroot {

namespace {

std::optional<std::string> address_text(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN];
  if (address->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(address);
    if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text)) return std::string(text);
  } else if (address->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    if (::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text)) return std::string(text);
  }
  return std::nullopt;
}

}  // namespace

Result<std::string> interface_address(const std::string& interface) {
  struct ifaddrs* addresses = nullptr;
  if (::getifaddrs(&addresses) != 0) return errno_error("listing network interfaces", errno);
  std::optional<std::string> found;
  for (struct ifaddrs* a = addresses; a && !found; a = a->ifa_next)
    if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET && interface == a->ifa_name)
      found = address_text(a->ifa_addr);
  ::freeifaddrs(addresses);
  if (!found)
    return make_error(ErrorCode::kNotFound,
                      "interface " + interface + " has no IPv4 address; give --url");
  return *found;
}

Result<std::vector<std::string>> local_addresses() {
  struct ifaddrs* addresses = nullptr;
  if (::getifaddrs(&addresses) != 0) return errno_error("listing network interfaces", errno);
  std::vector<std::string> found;
  for (struct ifaddrs* a = addresses; a; a = a->ifa_next)
    if (a->ifa_addr)
      if (auto text = address_text(a->ifa_addr)) found.push_back(*text);
  ::freeifaddrs(addresses);
  return found;
}

}  // namespace goldroot

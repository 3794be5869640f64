// The machine's own network addresses (getifaddrs(3)).
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace goldroot {

// The first IPv4 address of a network interface, for the boot URL.
Result<std::string> interface_address(const std::string& interface);

// Every IPv4 and IPv6 address of every interface, as text ("10.0.0.1",
// "fe80::1"; no zone), loopback included.
Result<std::vector<std::string>> local_addresses();

}  // namespace goldroot

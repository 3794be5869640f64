// Which network interface this machine booted from, when the kernel
// command line does not say (a unified kernel image's line names no host;
// kernel_cmdline.h): the one the initramfs configured by DHCP.
//
//   1. initramfs-tools' ipconfig writes RUN/net-<interface>.conf for the
//      interface that got its lease (DEVICE=… inside);
//   2. else (dracut, or an address set by other means) the first
//      interface, by name, that has an IPv4 address and is not loopback.
//
// Its MAC is NET/<interface>/address. Functions only; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace goldroot::boot {

// The interfaces with an IPv4 address, loopback left out (getifaddrs).
std::vector<std::string> interfaces_with_ipv4();

// The MAC ("52:54:00:aa:00:01") of the interface the machine booted from;
// `run_dir` is /run, `net_dir` /sys/class/net. A sentence when there is none.
Result<std::string> find_boot_mac(const std::string& run_dir, const std::string& net_dir,
                                  const std::vector<std::string>& ipv4_interfaces);

}  // namespace goldroot::boot

// The TFTP root dnsmasq serves: a directory in the site holding copies of
// Debian's iPXE binaries (undionly.kpxe for BIOS, ipxe.efi for UEFI). Copies
// rather than /usr/lib/ipxe itself keep the served set small and let the
// root be readable by the user dnsmasq drops to. Not thread-safe for one
// directory.
#pragma once

#include <string>

#include "base/result.h"

namespace goldroot::netboot {

inline constexpr char kDebianIpxeDirectory[] = "/usr/lib/ipxe";

// Creates `directory` (mode 0755) and copies the iPXE binaries from
// `ipxe_directory` into it when missing or different, atomically. A missing
// binary is a NotFound error that says to install the ipxe package.
Status prepare_tftp_root(const std::string& directory,
                         const std::string& ipxe_directory = kDebianIpxeDirectory);

}  // namespace goldroot::netboot

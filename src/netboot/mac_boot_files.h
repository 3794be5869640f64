// Per-MAC boot files in the TFTP root, for firmware that loads one file
// chosen per machine (a host's signed unified kernel image) rather than a
// loader that asks the server again. dnsmasq, run with
// tftp-unique-root=mac, looks for ROOT/<mac hyphenated>/FILE before
// ROOT/FILE, so each such machine gets its own FILE under one DHCP boot
// file name.
//
// Each per-MAC FILE is a symbolic link to the artifact (built elsewhere,
// world-readable), replaced atomically, so a machine in the middle of a
// download keeps the file it opened. Only directories whose names are
// hyphenated MACs are touched: the rest of the TFTP root is not this
// module's. Not thread-safe for one root.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace goldroot::netboot {

struct MacBootFile {
  std::string mac;     // any form normalize_mac accepts
  std::string target;  // absolute path of the artifact the link points at
};

// Makes ROOT/<mac>/NAME a link to each file's target, and removes the
// per-MAC directories of MACs no longer listed. NAME is a plain file name.
Status write_mac_boot_files(const std::string& root, const std::string& name,
                            const std::vector<MacBootFile>& files);

}  // namespace goldroot::netboot

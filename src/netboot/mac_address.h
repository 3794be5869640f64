// MAC address helpers for the boot path. The canonical form is the one
// iPXE's ${mac} prints: six lowercase hex pairs joined by ':'
// ("52:54:00:12:34:56"). Admins and other tools also write it hyphenated
// (Windows, PXELINUX's "01-52-54-…") or in uppercase; those are accepted and
// normalized so one host has exactly one key. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot::netboot {

// "52:54:00:12:34:56" from "52:54:00:12:34:56", "52-54-00-12-34-56",
// "52:54:00:AB:CD:EF" and so on; one separator style throughout. Anything
// else is an InvalidArgument error in one sentence.
Result<std::string> normalize_mac(std::string_view text);

// The hyphenated form ("52-54-00-12-34-56") of a canonical MAC, as
// initramfs-tools wants it after "BOOTIF=01-".
std::string mac_hyphenated(std::string_view canonical_mac);

// The MAC named by the last segment of a "/boot/<mac>.ipxe" request path,
// normalized; an error when the name is not "<mac>.ipxe".
Result<std::string> mac_from_boot_script_name(std::string_view file_name);

}  // namespace goldroot::netboot

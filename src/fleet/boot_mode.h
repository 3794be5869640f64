// BootMode: what a machine does at its next boot (DESIGN.md "Boot modes").
// Set per host or per lab; the host's setting wins (see effective.h).
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot {

enum class BootMode { kNormal, kReset, kMaintenance, kCache, kInstall, kShell };

const char* boot_mode_name(BootMode mode);
// One of normal, reset, maintenance, cache, install, shell.
Result<BootMode> parse_boot_mode(std::string_view text);

}  // namespace goldroot

#include "fleet/boot_mode.h"

namespace goldroot {

namespace {
constexpr BootMode kModes[] = {BootMode::kNormal, BootMode::kReset,   BootMode::kMaintenance,
                               BootMode::kCache,  BootMode::kInstall, BootMode::kShell};
}

const char* boot_mode_name(BootMode mode) {
  switch (mode) {
    case BootMode::kNormal:
      return "normal";
    case BootMode::kReset:
      return "reset";
    case BootMode::kMaintenance:
      return "maintenance";
    case BootMode::kCache:
      return "cache";
    case BootMode::kInstall:
      return "install";
    case BootMode::kShell:
      return "shell";
  }
  return "normal";
}

Result<BootMode> parse_boot_mode(std::string_view text) {
  for (BootMode mode : kModes)
    if (text == boot_mode_name(mode)) return mode;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown boot mode '" + std::string(text) +
                        "'; choose normal, reset, maintenance, cache, install or shell");
}

}  // namespace goldroot

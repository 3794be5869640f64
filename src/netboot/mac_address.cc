#include "netboot/mac_address.h"

#include "base/strings.h"
#include "net/address.h"

namespace goldroot::netboot {

Result<std::string> normalize_mac(std::string_view text) { return parse_mac(text); }

std::string mac_hyphenated(std::string_view canonical_mac) {
  std::string out(canonical_mac);
  for (char& c : out)
    if (c == ':') c = '-';
  return out;
}

Result<std::string> mac_from_boot_script_name(std::string_view file_name) {
  constexpr std::string_view kSuffix = ".ipxe";
  if (!ends_with(file_name, kSuffix))
    return make_error(
        ErrorCode::kInvalidArgument,
        "'" + std::string(file_name) + "' is not a boot script name (want <mac>.ipxe)");
  return normalize_mac(file_name.substr(0, file_name.size() - kSuffix.size()));
}

}  // namespace goldroot::netboot

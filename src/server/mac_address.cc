#include "server/mac_address.h"

#include <cctype>

#include "base/strings.h"

namespace goldroot::server {

namespace {

Error not_a_mac(std::string_view text) {
  return make_error(ErrorCode::kInvalidArgument,
                    "'" + std::string(text) +
                        "' is not a MAC address (want six hex pairs such as 52:54:00:12:34:56)");
}

}  // namespace

Result<std::string> normalize_mac(std::string_view text) {
  // Exactly 17 characters: pairs at 0,3,…,15 and one separator kind between.
  if (text.size() != 17) return not_a_mac(text);
  char separator = text[2];
  if (separator != ':' && separator != '-') return not_a_mac(text);
  std::string canonical;
  canonical.reserve(17);
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (i % 3 == 2) {
      if (c != separator) return not_a_mac(text);
      canonical.push_back(':');
    } else {
      if (!std::isxdigit(static_cast<unsigned char>(c))) return not_a_mac(text);
      canonical.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return canonical;
}

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

}  // namespace goldroot::server

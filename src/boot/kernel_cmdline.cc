#include "boot/kernel_cmdline.h"

#include <cctype>
#include <vector>

#include "base/strings.h"

namespace goldroot::boot {
namespace {

// Splits on whitespace; double quotes group words and are removed.
std::vector<std::string> split_words(std::string_view cmdline) {
  std::vector<std::string> words;
  std::string word;
  bool quoted = false, in_word = false;
  for (char c : cmdline) {
    if (c == '"') {
      quoted = !quoted;
      in_word = true;
    } else if (!quoted && (c == ' ' || c == '\t' || c == '\n')) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace

const char* boot_mode_name(BootMode mode) {
  switch (mode) {
    case BootMode::kNormal: return "normal";
    case BootMode::kReset: return "reset";
    case BootMode::kMaintenance: return "maintenance";
    case BootMode::kCache: return "cache";
    case BootMode::kInstall: return "install";
    case BootMode::kShell: return "shell";
  }
  return "?";
}

Result<BootMode> parse_boot_mode(std::string_view name) {
  for (BootMode mode : {BootMode::kNormal, BootMode::kReset, BootMode::kMaintenance,
                        BootMode::kCache, BootMode::kInstall, BootMode::kShell})
    if (name == boot_mode_name(mode)) return mode;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown goldroot.mode \"" + std::string(name) +
                        "\" (expected normal, reset, maintenance, cache, install or shell)");
}

Result<std::string> parse_mac_address(std::string_view text, std::string_view what) {
  std::string mac;
  bool good = text.size() == 17;
  for (size_t i = 0; good && i < text.size(); ++i) {
    char c = text[i];
    if (i % 3 == 2) {
      good = c == ':' || c == '-';
      mac += ':';
    } else {
      good = std::isxdigit(static_cast<unsigned char>(c));
      mac += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (!good) {
    std::string shown(text.substr(0, 40));
    for (char& c : shown)
      if (!std::isprint(static_cast<unsigned char>(c))) c = '?';
    return make_error(ErrorCode::kInvalidArgument, std::string(what) + " \"" + shown +
                                                       "\" is not a MAC address (like "
                                                       "52:54:00:12:34:56)");
  }
  return mac;
}

void set_boot_mac(BootOptions* options, const std::string& mac) {
  options->mac = mac;
  if (options->manifest_url.empty())
    options->manifest_url = options->server + "/api/v1/boot/" + mac;
}

Result<BootOptions> parse_kernel_cmdline(std::string_view cmdline) {
  BootOptions options;
  std::string bootif;
  for (const std::string& word : split_words(cmdline)) {
    size_t equals = word.find('=');
    if (equals == std::string::npos) continue;
    std::string key = word.substr(0, equals), value = word.substr(equals + 1);
    if (key == "boot") options.goldroot = value == "goldroot";
    else if (key == "goldroot.server") options.server = value;
    else if (key == "goldroot.manifest") options.manifest_url = value;
    else if (key == "goldroot.mac") options.mac = TRY(parse_mac_address(value, "goldroot.mac"));
    else if (key == "BOOTIF") bootif = value;
    else if (key == "goldroot.host") options.host = value;
    else if (key == "goldroot.mode") options.mode = TRY(parse_boot_mode(value));
    else if (key == "goldroot.install") options.install_label = value;
    else if (key == "goldroot.data") options.data_label = value == "none" ? "" : value;
    else if (key == "goldroot.retry") {
      uint64_t seconds = 0;
      if (!parse_uint64(value, &seconds) || seconds < 1 || seconds > 3600)
        return make_error(ErrorCode::kInvalidArgument,
                          "goldroot.retry must be 1 to 3600 seconds, not \"" + value + "\"");
      options.retry_seconds = static_cast<int64_t>(seconds);
    } else if (key == "goldroot.format") {
      if (value != "yes" && value != "no")
        return make_error(ErrorCode::kInvalidArgument,
                          "goldroot.format must be yes or no, not \"" + value + "\"");
      options.format_allowed = value == "yes";
    }
  }
  while (!options.server.empty() && options.server.back() == '/') options.server.pop_back();
  if (!options.goldroot) return options;
  if (options.server.empty() && options.manifest_url.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      "boot=goldroot needs goldroot.server=URL or goldroot.manifest=URL");
  // pxelinux's and iPXE's BOOTIF=01-52-54-00-12-34-56: type 01 (Ethernet), then the MAC.
  if (options.mac.empty() && !bootif.empty()) {
    std::string_view mac = bootif;
    if (mac.size() == 20 && mac.substr(0, 3) == "01-") mac.remove_prefix(3);
    options.mac = TRY(parse_mac_address(mac, "BOOTIF"));
  }
  if (!options.mac.empty()) set_boot_mac(&options, options.mac);
  return options;
}

}  // namespace goldroot::boot

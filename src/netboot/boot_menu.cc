#include "netboot/boot_menu.h"

#include <cctype>

#include "base/strings.h"

namespace goldroot::netboot {

namespace {

struct ModeInfo {
  const char* name;
  const char* description;
};

constexpr ModeInfo kModes[] = {
    {"normal", "Normal: the golden image, changes kept until reset"},
    {"reset", "Reset: discard this machine's changes, then boot"},
    {"maintenance", "Maintenance: changes persist on local disk, to be captured"},
    {"cache", "Cache: keep a verified copy of the image on local disk"},
    {"install", "Install: make this machine a standalone local install"},
    {"shell", "Shell: initramfs shell (administrators only)"},
};

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace

const std::vector<std::string>& boot_modes() {
  static const std::vector<std::string> modes = [] {
    std::vector<std::string> names;
    for (const auto& info : kModes) names.push_back(info.name);
    return names;
  }();
  return modes;
}

std::vector<std::string> menu_modes(std::string_view mode) {
  std::vector<std::string> modes;
  if (!check_boot_mode(mode).ok()) return modes;
  for (const auto& info : kModes)
    if (mode == info.name || (mode == "normal" && std::string_view(info.name) == "reset"))
      modes.push_back(info.name);
  return modes;
}

Status check_boot_mode(std::string_view mode) {
  for (const auto& info : kModes)
    if (mode == info.name) return ok_status();
  return invalid("boot mode '" + std::string(mode) + "' is not one of " + join(boot_modes(), ", "));
}

const char* describe_mode(std::string_view mode) {
  for (const auto& info : kModes)
    if (mode == info.name) return info.description;
  return "";
}

Status check_unregistered_mode(std::string_view mode) {
  TRY(check_boot_mode(mode));
  if (mode != "normal" && mode != "reset" && mode != "cache")
    return invalid("unregistered machines may boot in normal, reset or cache mode, not " +
                   std::string(mode));
  return ok_status();
}

Status check_menu_host_name(std::string_view name) {
  bool good = !name.empty() && name.size() <= 63;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      good = false;
  if (!good)
    return invalid("host name '" + std::string(name) +
                   "' must be 1-63 letters, digits, '-', '_' or '.'");
  return ok_status();
}

Status check_menu_options(const MenuOptions& options) {
  if (options.timeout_seconds < 0 || options.timeout_seconds > 3600)
    return invalid("menu timeout must be 0-3600 seconds, not " +
                   std::to_string(options.timeout_seconds));
  for (const std::string* text : {&options.title, &options.extra_kernel_arguments})
    for (char c : *text)
      if (std::iscntrl(static_cast<unsigned char>(c)) || c == '$')
        return invalid(
            "menu title and kernel arguments must not contain control characters or '$'");
  return ok_status();
}

// Boot loaders split command lines on whitespace and expand ${…}, so a URL
// carrying either would boot something else than the server meant.
Status check_boot_url(std::string_view what, std::string_view url) {
  if (!starts_with(url, "http://") && !starts_with(url, "https://"))
    return invalid(std::string(what) + " URL '" + std::string(url) +
                   "' must start with http:// or https://");
  for (char c : url) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isspace(u) || std::iscntrl(u) || c == '$')
      return invalid(std::string(what) + " URL '" + std::string(url) +
                     "' must not contain spaces, control characters or '$'");
  }
  return ok_status();
}

std::string trimmed_base(std::string_view url) {
  std::string base(url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

std::string kernel_arguments(std::string_view mode, std::string_view host_name,
                             std::string_view mac, std::string_view mac_hyphenated,
                             const BootUrls& urls, const MenuOptions& options) {
  std::string arguments = "boot=goldroot goldroot.server=" + trimmed_base(urls.server) +
                          " goldroot.manifest=" + urls.manifest +
                          " goldroot.mode=" + std::string(mode);
  if (!host_name.empty()) arguments += " goldroot.host=" + std::string(host_name);
  arguments += " goldroot.mac=" + std::string(mac) + " BOOTIF=01-" + std::string(mac_hyphenated) +
               " ip=dhcp";
  if (!options.extra_kernel_arguments.empty()) arguments += " " + options.extra_kernel_arguments;
  return arguments;
}

}  // namespace goldroot::netboot

#include "netboot/ipxe_script.h"

#include <algorithm>
#include <cctype>

#include "base/strings.h"
#include "netboot/mac_address.h"

namespace goldroot::netboot {

namespace {

// Names the initrds get inside iPXE; the kernel line refers to them.
constexpr const char* kImageInitrdName = "image-initrd.img";
constexpr const char* kGoldrootInitrdName = "goldroot-initrd.img";

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

const char* describe(std::string_view mode) {
  for (const auto& info : kModes)
    if (mode == info.name) return info.description;
  return "";
}

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

// iPXE splits command lines on whitespace and expands ${…}, so a URL
// carrying either would boot something else than the server meant.
Status check_url(std::string_view what, std::string_view url) {
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

Status check_urls(const BootUrls& urls) {
  TRY(check_url("server", urls.server));
  if (!urls.script_server.empty()) TRY(check_url("script server", urls.script_server));
  TRY(check_url("kernel", urls.kernel));
  TRY(check_url("initrd", urls.initrd));
  TRY(check_url("goldroot initrd", urls.goldroot_initrd));
  TRY(check_url("manifest", urls.manifest));
  return ok_status();
}

Status check_host_name(std::string_view name) {
  bool good = !name.empty() && name.size() <= 63;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      good = false;
  if (!good)
    return invalid("host name '" + std::string(name) +
                   "' must be 1-63 letters, digits, '-', '_' or '.'");
  return ok_status();
}

Status check_options(const IpxeMenuOptions& options) {
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

std::string trimmed_base(std::string_view url) {
  std::string base(url);
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

std::string self_url(const BootUrls& urls, std::string_view mac) {
  return trimmed_base(urls.script_server.empty() ? urls.server : urls.script_server) + "/boot/" +
         std::string(mac) + ".ipxe";
}

// The script's lines for booting `mode`: kernel, the two initrds, boot.
std::string boot_section(std::string_view mode, std::string_view host_name, std::string_view mac,
                         const BootUrls& urls, const IpxeMenuOptions& options) {
  std::string arguments =
      std::string("initrd=") + kImageInitrdName + " initrd=" + kGoldrootInitrdName +
      " boot=goldroot goldroot.server=" + trimmed_base(urls.server) +
      " goldroot.manifest=" + urls.manifest + " goldroot.mode=" + std::string(mode);
  if (!host_name.empty()) arguments += " goldroot.host=" + std::string(host_name);
  arguments +=
      " goldroot.mac=" + std::string(mac) + " BOOTIF=01-" + mac_hyphenated(mac) + " ip=dhcp";
  if (!options.extra_kernel_arguments.empty()) arguments += " " + options.extra_kernel_arguments;

  std::string out;
  out += ":" + std::string(mode) + "\n";
  out += "echo " + options.title + ": booting " +
         (host_name.empty() ? std::string("unregistered ") + std::string(mac)
                            : std::string(host_name)) +
         " in " + std::string(mode) + " mode\n";
  out += "kernel " + urls.kernel + " " + arguments + " || goto failed\n";
  out += std::string("initrd --name ") + kImageInitrdName + " " + urls.initrd + " || goto failed\n";
  out += std::string("initrd --name ") + kGoldrootInitrdName + " " + urls.goldroot_initrd +
         " || goto failed\n";
  out += "boot || goto failed\n\n";
  return out;
}

// A menu of `modes` defaulting to `default_mode`, then one section per mode.
std::string menu_script(std::string_view heading, std::string_view host_name, std::string_view mac,
                        const std::vector<std::string>& modes, std::string_view default_mode,
                        const BootUrls& urls, const IpxeMenuOptions& options) {
  std::string script = "#!ipxe\n";
  script += "# " + std::string(heading) + "\n";
  script += "# Generated by goldroot serve for every request; edits are not kept.\n\n";
  if (options.timeout_seconds == 0) {
    // iPXE reads a zero timeout as "wait forever", so skip the menu instead.
    script += "goto " + std::string(default_mode) + "\n\n";
  } else {
    script += "menu " + options.title + ": " +
              (host_name.empty() ? std::string("unregistered machine") : std::string(host_name)) +
              " (" + std::string(mac) + ")\n";
    script += "item --gap -- Boot modes (default " + std::string(default_mode) + ")\n";
    for (const auto& mode : modes) script += "item " + mode + " " + describe(mode) + "\n";
    // Esc cancels choose; boot the default rather than drop to an iPXE shell.
    script += "choose --default " + std::string(default_mode) + " --timeout " +
              std::to_string(options.timeout_seconds * 1000) + " target || goto " +
              std::string(default_mode) + "\n";
    script += "goto ${target}\n\n";
  }
  for (const auto& mode : modes) script += boot_section(mode, host_name, mac, urls, options);
  script += ":failed\n";
  script += "echo " + options.title + ": boot failed; asking the server again in 10 seconds\n";
  script += "prompt --timeout 10000 Press any key to retry now ||\n";
  script += "chain --replace --autofree " + self_url(urls, mac) + "\n";
  return script;
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

Result<std::string> render_host_script(const BootHost& host, const BootUrls& urls,
                                       const IpxeMenuOptions& options) {
  std::string mac = TRY(normalize_mac(host.mac));
  TRY(check_host_name(host.name));
  TRY(check_boot_mode(host.mode));
  TRY(check_urls(urls));
  TRY(check_options(options));
  return menu_script("goldroot boot script for " + host.name + " (" + mac + ")", host.name, mac,
                     menu_modes(host.mode), host.mode, urls, options);
}

Result<std::string> render_unknown_host_script(std::string_view mac_text,
                                               const UnknownHostOptions& unknown,
                                               const BootUrls& urls,
                                               const IpxeMenuOptions& options) {
  std::string mac = TRY(normalize_mac(mac_text));
  TRY(check_options(options));
  if (unknown.policy == UnknownHostPolicy::kDefaultImage) {
    TRY(check_boot_mode(unknown.default_mode));
    // Modes that write to local disks or open a shell need a registered host.
    if (unknown.default_mode != "normal" && unknown.default_mode != "reset" &&
        unknown.default_mode != "cache")
      return invalid("unregistered machines may boot in normal, reset or cache mode, not " +
                     unknown.default_mode);
    TRY(check_urls(urls));
    return menu_script("goldroot default boot script for unregistered " + mac, "", mac,
                       menu_modes(unknown.default_mode), unknown.default_mode, urls, options);
  }

  TRY(check_url("server", urls.server));
  if (!urls.script_server.empty()) TRY(check_url("script server", urls.script_server));
  if (unknown.retry_seconds < 1 || unknown.retry_seconds > 3600)
    return invalid("registration retry must be 1-3600 seconds, not " +
                   std::to_string(unknown.retry_seconds));
  // The wait doubles up to kRegistrationWaitCapSeconds (or stays at a
  // longer retry): iPXE's settings outlive `chain --replace`, so the
  // current wait rides along in one (reset by a reboot). iPXE cannot
  // compare numbers, so the script carries the ladder, largest step first
  // so that one pass takes one step.
  std::vector<int> ladder = {unknown.retry_seconds};
  while (ladder.back() < kRegistrationWaitCapSeconds)
    ladder.push_back(std::min(ladder.back() * 2, kRegistrationWaitCapSeconds));
  const std::string wait = "${" + std::string(kRegistrationWaitSetting) + "}";
  std::string script = "#!ipxe\n";
  script += "# goldroot registration screen for unregistered " + mac + "\n";
  script += "# Generated by goldroot serve for every request; edits are not kept.\n\n";
  script += "isset " + wait + " || set " + kRegistrationWaitSetting + " " +
            std::to_string(ladder.front()) + "\n";
  script += ":register\n";
  script += "echo\n";
  script += "echo " + options.title + ": this machine is not registered.\n";
  script += "echo\n";
  script += "echo   MAC address: " + mac + "\n";
  script += "echo\n";
  script += "echo Register it on the server with this MAC; it then boots on its own.\n";
  script += "prompt --timeout " + wait + "000 Asking the server again in " + wait +
            " seconds (any key: now) ||\n";
  for (size_t i = ladder.size() - 1; i > 0; --i)
    script += "iseq " + wait + " " + std::to_string(ladder[i - 1]) + " && set " +
              kRegistrationWaitSetting + " " + std::to_string(ladder[i]) + " ||\n";
  // Fetching the script again picks up a registration made meanwhile.
  script += "chain --replace --autofree " + self_url(urls, mac) + " || goto register\n";
  return script;
}

}  // namespace goldroot::netboot

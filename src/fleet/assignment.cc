#include "fleet/assignment.h"

#include <algorithm>

#include "base/strings.h"
#include "net/address.h"
#include "fleet/channel.h"
#include "fleet/names.h"

namespace goldroot {

namespace {

std::optional<std::string> optional_value(const std::string& value) {
  if (value.empty()) return std::nullopt;
  return value;
}

Error unknown_key(const std::string& key, const char* what, const char* keys) {
  return make_error(ErrorCode::kInvalidArgument, "unknown " + std::string(what) + " setting '" +
                                                     key + "'; settings are " + keys);
}

}  // namespace

Result<std::vector<Assignment>> parse_assignments(const std::vector<std::string>& args) {
  std::vector<Assignment> out;
  for (const std::string& arg : args) {
    size_t equals = arg.find('=');
    if (equals == std::string::npos || equals == 0)
      return make_error(ErrorCode::kInvalidArgument,
                        "'" + arg + "' is not a setting; write KEY=VALUE (e.g. mode=reset)");
    out.push_back({arg.substr(0, equals), arg.substr(equals + 1)});
  }
  return out;
}

Result<std::vector<std::string>> parse_mac_list(const std::string& text) {
  std::vector<std::string> macs;
  for (const std::string& part : split(text, ',')) {
    std::string_view item = trim(part);
    if (item.empty()) continue;
    std::string mac = TRY(parse_mac(item));
    if (std::find(macs.begin(), macs.end(), mac) == macs.end()) macs.push_back(mac);
  }
  return macs;
}

Status apply(Host& host, const Assignment& a, const Store& store) {
  const std::string& value = a.value;
  if (a.key == "name") {
    std::string name = to_lower(value);
    TRY(validate_host_name(name));
    host.name = name;
  } else if (a.key == "mac" || a.key == "macs") {
    auto macs = TRY(parse_mac_list(value));
    if (macs.empty())
      return make_error(ErrorCode::kInvalidArgument, "a host needs at least one MAC address");
    host.macs = std::move(macs);
  } else if (a.key == "ip") {
    if (!value.empty()) TRY(parse_ipv4(value));
    host.ip = optional_value(value);
  } else if (a.key == "lab") {
    if (!value.empty()) TRY(validate_lab_name(value));
    host.lab = optional_value(value);
  } else if (a.key == "arch") {
    TRY(validate_arch(value));
    host.arch = value;
  } else if (a.key == "channel") {
    if (!value.empty()) {
      TRY(validate_channel(store, value));
      host.pinned_commit.reset();
    }
    host.channel = optional_value(value);
  } else if (a.key == "pin" || a.key == "commit") {
    if (value.empty()) {
      host.pinned_commit.reset();
    } else {
      host.pinned_commit = TRY(resolve_pinned_commit(store, value));
      host.channel.reset();
    }
  } else if (a.key == "mode") {
    if (value.empty())
      host.mode.reset();
    else
      host.mode = TRY(parse_boot_mode(value));
  } else if (a.key == "fetch") {
    if (value.empty() || value == "inherit")
      host.fetch.reset();
    else
      host.fetch = TRY(parse_fetch_mode(value));
  } else if (a.key == "notes" || a.key == "note") {
    host.notes = value;
  } else if (starts_with(a.key, "var.")) {
    std::string name = a.key.substr(4);
    TRY(validate_var_name(name));
    if (value.empty())
      host.vars.erase(name);
    else
      host.vars[name] = value;
  } else {
    return unknown_key(a.key, "host",
                       "name, mac, ip, lab, arch, channel, pin, mode, fetch, notes and var.NAME");
  }
  return {};
}

Status apply(Lab& lab, const Assignment& a, const Store& store) {
  const std::string& value = a.value;
  if (a.key == "channel") {
    if (!value.empty()) TRY(validate_channel(store, value));
    lab.channel = optional_value(value);
  } else if (a.key == "mode") {
    if (value.empty())
      lab.mode.reset();
    else
      lab.mode = TRY(parse_boot_mode(value));
  } else if (a.key == "networks" || a.key == "network") {
    lab.networks.clear();
    for (const std::string& part : split(value, ',')) {
      std::string_view item = trim(part);
      if (item.empty()) continue;
      lab.networks.push_back(TRY(parse_cidr(item)).str());
    }
    std::sort(lab.networks.begin(), lab.networks.end());
    lab.networks.erase(std::unique(lab.networks.begin(), lab.networks.end()), lab.networks.end());
  } else if (a.key == "fetch") {
    if (value.empty() || value == "inherit")
      lab.fetch.reset();
    else
      lab.fetch = TRY(parse_fetch_mode(value));
  } else if (a.key == "prefetch") {
    if (value.empty() || value == "inherit")
      lab.prefetch.reset();
    else
      lab.prefetch = TRY(parse_prefetch_setting(value));
  } else if (a.key == "notes" || a.key == "note") {
    lab.notes = value;
  } else {
    return unknown_key(a.key, "lab", "channel, mode, fetch, prefetch, networks and notes");
  }
  return {};
}

}  // namespace goldroot

#include "fleet/model.h"

#include <set>

#include "base/strings.h"
#include "net/address.h"
#include "fleet/names.h"

namespace goldroot {

Status validate(const Network& network) {
  Cidr cidr = TRY(parse_cidr(network.cidr));
  if (cidr.str() != network.cidr)
    return make_error(ErrorCode::kInvalidArgument,
                      "network '" + network.cidr + "' is not canonical");
  if (network.gateway) {
    Ipv4 gateway = TRY(parse_ipv4(*network.gateway).context("gateway"));
    if (!cidr.contains(gateway))
      return make_error(ErrorCode::kInvalidArgument,
                        "gateway " + *network.gateway + " is not inside network " + network.cidr);
  }
  for (const std::string& server : network.dns) TRY(parse_ipv4(server).context("DNS server"));
  if (network.domain) {
    for (const std::string& label : split(*network.domain, '.'))
      TRY(validate_host_name(label).context("domain '" + *network.domain + "'"));
  }
  return {};
}

Status validate(const Lab& lab) {
  TRY(validate_lab_name(lab.name));
  for (const std::string& network : lab.networks) TRY(parse_cidr(network));
  return {};
}

Status validate(const Host& host) {
  TRY(validate_host_name(host.name));
  if (host.macs.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      "host " + host.name + " needs at least one MAC address");
  std::set<std::string> seen;
  for (const std::string& mac : host.macs) {
    std::string canonical = TRY(parse_mac(mac));
    if (canonical != mac)
      return make_error(ErrorCode::kInvalidArgument, "MAC '" + mac + "' is not canonical");
    if (!seen.insert(mac).second)
      return make_error(ErrorCode::kInvalidArgument,
                        "MAC " + mac + " is given twice for host " + host.name);
  }
  if (host.ip) TRY(parse_ipv4(*host.ip));
  if (host.lab) TRY(validate_lab_name(*host.lab));
  TRY(validate_arch(host.arch));
  if (host.channel && host.pinned_commit)
    return make_error(ErrorCode::kInvalidArgument,
                      "host " + host.name + " has both a channel and a pinned commit; choose one");
  for (const auto& [key, value] : host.vars) TRY(validate_var_name(key));
  return {};
}

nlohmann::json to_json(const Network& network) {
  nlohmann::json out;
  out["cidr"] = network.cidr;
  out["gateway"] = network.gateway ? nlohmann::json(*network.gateway) : nlohmann::json();
  out["dns"] = network.dns;
  out["domain"] = network.domain ? nlohmann::json(*network.domain) : nlohmann::json();
  return out;
}

nlohmann::json to_json(const Lab& lab) {
  nlohmann::json out;
  out["name"] = lab.name;
  out["channel"] = lab.channel ? nlohmann::json(*lab.channel) : nlohmann::json();
  out["mode"] = lab.mode ? nlohmann::json(boot_mode_name(*lab.mode)) : nlohmann::json();
  out["enroll"] = lab.enroll ? nlohmann::json(enroll_policy_name(*lab.enroll)) : nlohmann::json();
  out["uefi"] = lab.uefi ? nlohmann::json(uefi_boot_name(*lab.uefi)) : nlohmann::json();
  out["fetch"] = lab.fetch ? nlohmann::json(fetch_mode_name(*lab.fetch)) : nlohmann::json();
  out["prefetch"] =
      lab.prefetch ? nlohmann::json(prefetch_setting_name(*lab.prefetch)) : nlohmann::json();
  out["networks"] = lab.networks;
  out["notes"] = lab.notes;
  return out;
}

nlohmann::json to_json(const Host& host) {
  auto optional = [](const std::optional<std::string>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json();
  };
  nlohmann::json out;
  out["name"] = host.name;
  out["macs"] = host.macs;
  out["ip"] = optional(host.ip);
  out["lab"] = optional(host.lab);
  out["arch"] = host.arch;
  out["channel"] = optional(host.channel);
  out["pinned_commit"] = optional(host.pinned_commit);
  out["mode"] = host.mode ? nlohmann::json(boot_mode_name(*host.mode)) : nlohmann::json();
  out["fetch"] = host.fetch ? nlohmann::json(fetch_mode_name(*host.fetch)) : nlohmann::json();
  out["vars"] = host.vars;
  out["notes"] = host.notes;
  out["unregistered"] = host.unregistered;
  return out;
}

}  // namespace goldroot

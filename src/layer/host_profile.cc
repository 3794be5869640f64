#include "layer/host_profile.h"

#include "base/strings.h"

namespace goldroot {

Result<HostProfile> load_host_profile(Inventory& inventory, const std::string& name) {
  auto host = TRY(inventory.find_host(name));
  if (!host) return make_error(ErrorCode::kNotFound, "there is no host " + name);
  HostProfile profile{std::move(*host), std::nullopt, std::nullopt};
  if (profile.host.lab) profile.lab = TRY(inventory.find_lab(*profile.host.lab));
  if (profile.host.ip) profile.network = TRY(inventory.network_containing(*profile.host.ip));
  return profile;
}

TemplateVariables template_variables(const HostProfile& profile) {
  const Host& host = profile.host;
  TemplateVariables variables;
  variables["hostname"] = host.name;
  variables["fqdn"] = host.name;
  variables["arch"] = host.arch;
  if (!host.macs.empty()) variables["mac"] = host.macs[0];
  variables["macs"] = join(host.macs, " ");
  if (host.ip) variables["ip"] = *host.ip;
  if (host.lab) variables["lab"] = *host.lab;
  if (profile.network) {
    const Network& network = *profile.network;
    Cidr cidr = parse_cidr(network.cidr).value();
    variables["network"] = network.cidr;
    variables["netmask"] = cidr.netmask().str();
    variables["prefix"] = std::to_string(cidr.prefix);
    if (network.gateway) variables["gateway"] = *network.gateway;
    if (!network.dns.empty()) variables["dns"] = join(network.dns, " ");
    if (network.domain) {
      variables["domain"] = *network.domain;
      variables["fqdn"] = host.name + "." + *network.domain;
    }
  }
  for (const auto& [key, value] : host.vars) variables["var." + key] = value;
  return variables;
}

}  // namespace goldroot

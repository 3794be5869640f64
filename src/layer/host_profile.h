// HostProfile: one host with the lab and network it belongs to, as read from
// the inventory — everything that decides which layers apply to it and what
// its templates see. The network is the most specific inventory network
// containing the host's IP.
//
// Template variables (template.h): hostname, fqdn (hostname.domain when the
// network has a domain, else the hostname), ip, mac (the first), macs, lab,
// arch, network (CIDR), netmask, prefix, gateway, dns (space-separated),
// domain, and var.NAME for each host variable. A variable whose value the
// inventory does not have (say gateway) is absent, so a template using it
// fails with an error instead of rendering an empty string.
#pragma once

#include <optional>
#include <string>

#include "fleet/inventory.h"
#include "layer/template.h"

namespace goldroot {

struct HostProfile {
  Host host;
  std::optional<Lab> lab;
  std::optional<Network> network;
};

Result<HostProfile> load_host_profile(Inventory& inventory, const std::string& name);
TemplateVariables template_variables(const HostProfile& profile);

}  // namespace goldroot

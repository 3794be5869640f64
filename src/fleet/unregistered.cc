#include "fleet/unregistered.h"

#include <algorithm>

#include "net/address.h"

namespace goldroot {

Result<std::string> unregistered_host_name(const std::string& mac) {
  std::string canonical = TRY(parse_mac(mac));
  std::string name = "unreg-";
  for (char c : canonical)
    if (c != ':') name += c;
  return name;
}

Result<int64_t> count_unregistered_hosts(Inventory& inventory) {
  Statement count =
      TRY(inventory.database().prepare("SELECT count(*) FROM hosts WHERE unregistered != 0"));
  TRY(count.step());
  return count.int_column(0);
}

Result<Host> add_unregistered_host(Inventory& inventory, const std::string& mac, BootMode mode,
                                   int64_t limit) {
  Host host;
  host.name = TRY(unregistered_host_name(mac));
  host.macs = {TRY(parse_mac(mac))};
  host.mode = mode;
  host.unregistered = true;
  host.notes =
      "booted the default image unregistered; adopt it with 'goldroot host add NAME --mac " +
      host.macs[0] + "'";
  if (TRY(count_unregistered_hosts(inventory)) >= limit)
    return make_error(ErrorCode::kNoSpace,
                      "the server already keeps " + std::to_string(limit) +
                          " unregistered machines, its limit; register this one (goldroot host "
                          "add NAME --mac " +
                          host.macs[0] + ") or remove some (goldroot host rm 'unreg-*')");
  TRY(inventory.add_host(host));
  return host;
}

Result<std::optional<Host>> unregistered_host_with(Inventory& inventory,
                                                   const std::vector<std::string>& macs) {
  for (const std::string& mac : macs) {
    auto owner = TRY(inventory.find_host_by_mac(mac));
    if (owner && owner->unregistered) return owner;
  }
  return std::optional<Host>();
}

Result<std::optional<std::string>> adopter_of(Inventory& inventory, const std::string& name) {
  constexpr std::string_view kPrefix = "unreg-";
  if (!name.starts_with(kPrefix) || name.size() != kPrefix.size() + 12)
    return std::optional<std::string>();
  std::string mac;
  for (size_t i = kPrefix.size(); i < name.size(); i += 2) {
    if (!mac.empty()) mac += ':';
    mac += name.substr(i, 2);
  }
  auto valid = parse_mac(mac);
  if (!valid.ok()) return std::optional<std::string>();
  auto owner = TRY(inventory.find_host_by_mac(*valid));
  if (!owner || owner->unregistered) return std::optional<std::string>();
  return std::optional<std::string>(owner->name);
}

Status adopt_unregistered_host(Inventory& inventory, const std::string& old_name, Host host) {
  auto old = TRY(inventory.find_host(old_name));
  if (!old) return make_error(ErrorCode::kNotFound, "there is no host " + old_name);
  if (!old->unregistered)
    return make_error(ErrorCode::kInvalidArgument, "host " + old_name + " is registered already");
  if (std::find(host.macs.begin(), host.macs.end(), old->macs.front()) == host.macs.end())
    return make_error(ErrorCode::kInvalidArgument,
                      "adopting " + old_name + " needs its MAC " + old->macs.front());
  host.unregistered = false;
  return inventory.update_host(old_name, host);
}

}  // namespace goldroot

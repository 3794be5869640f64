#include "cli/fleet_session.h"

#include <fnmatch.h>

#include "fleet/names.h"

namespace goldroot::cli {

Result<FleetSession> open_fleet(Context& context, LockMode mode, const std::string& command) {
  auto site = TRY(context.open_site(mode, command));
  Inventory inventory = TRY(Inventory::open(site->database()));
  return FleetSession{std::move(site), std::move(inventory)};
}

Result<std::vector<Host>> hosts_matching(Inventory& inventory, const std::string& raw) {
  std::string pattern = to_lower(raw);
  bool glob = pattern.find_first_of("*?[") != std::string::npos;
  std::vector<Host> matched;
  if (!glob) {
    auto host = TRY(inventory.find_host(pattern));
    if (!host) return make_error(ErrorCode::kNotFound, "there is no host " + pattern);
    matched.push_back(std::move(*host));
    return matched;
  }
  for (Host& host : TRY(inventory.hosts()))
    if (::fnmatch(pattern.c_str(), host.name.c_str(), 0) == 0) matched.push_back(std::move(host));
  if (matched.empty()) return make_error(ErrorCode::kNotFound, "no host matches " + pattern);
  return matched;
}

}  // namespace goldroot::cli

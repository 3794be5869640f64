// FleetSession: what the host, lab, network and layer commands work on — the
// open site (holding its lock) and its inventory. Read commands take the
// lock shared, write commands exclusive; each command then runs in one
// inventory transaction.
#pragma once

#include <memory>
#include <string>

#include "cli/command.h"
#include "fleet/inventory.h"

namespace goldroot::cli {

struct FleetSession {
  std::unique_ptr<Site> site;
  Inventory inventory;
};

Result<FleetSession> open_fleet(Context& context, LockMode mode, const std::string& command);

// Matches host names against a shell glob (`lab3-*`); a pattern without
// wildcards must name an existing host. No match is an error.
Result<std::vector<Host>> hosts_matching(Inventory& inventory, const std::string& pattern);

}  // namespace goldroot::cli

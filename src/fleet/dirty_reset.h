// Resetting only what changed: every host whose agent last reported it
// dirty gets next-boot mode `reset` (its previous mode is restored once it
// booted again, see AgentStore) and a `reboot-when-idle` command, which its
// agent carries out only while no user session is open. Shared by
// `goldroot reset --dirty` and the daily lab schedules `goldroot serve`
// runs. The caller holds a write transaction.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fleet/inventory.h"

namespace goldroot {

Result<std::vector<std::string>> reset_dirty_hosts(Inventory& inventory,
                                                   const std::optional<std::string>& lab,
                                                   int64_t now);

// Runs what is due: one-off `reset --dirty --at` requests, and lab
// schedules whose local time of day passed less than an hour ago and that
// have not run today. Returns one line per action, for the server's log.
Result<std::vector<std::string>> run_due_resets(Inventory& inventory, int64_t now);

// The next Unix time whose local time of day is `hh_mm` (today or tomorrow).
Result<int64_t> next_local_time(const std::string& hh_mm, int64_t now);

}  // namespace goldroot

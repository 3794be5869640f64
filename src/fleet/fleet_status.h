// The fleet's status as `goldroot status --json` and GET /api/v1/status
// show it: per host (sorted by name), what its agent last said and what the
// server makes of it.
//
//   {"name": "pc01", "lab": "lab3" | null, "unregistered": bool (booted
//    the default image without being registered, fleet/unregistered.h),
//    "state": "up"|"down"|"unseen",
//    "commit": "<hex>" | null, "current": true|false|null (the commit is what
//    its channel or pin boots now), "channel": "gold" | null, "pin": bool,
//    "mode": "normal" | null (what it booted in), "next_mode": "reset"
//    (what it boots next), "dirty": bool | null, "changes": 3 | null,
//    "last_seen": "2026-11-22T03:04:05Z" | null, "last_seen_unix": …,
//    "uptime_seconds": …, "users": ["alice@tty1"], "last_input": unix | null,
//    "upper": {"kind", "used_bytes", "total_bytes"} | null,
//    "root": {"backing": "copy"|"network"|"local", "fill_percent": 0-100,
//             "fetched_bytes", "seeded_bytes", "verify_failures", "error"} | null (where the
//             image under its root is read from, report/report.h),
//    "prefetch": {"commit": "<hex>", "current": bool (the commit its channel
//                 or pin points at now), "state": "fetching"|"paused"|"complete"|
//                 "failed"|"refused", "percent": 0-100, "done_bytes",
//                 "total_bytes", "fetched_bytes", "seeded_bytes", "error"} | null
//             (the next image, fetched ahead of the boot that needs it),
//    "pending_commands": ["reboot-when-idle"],
//    "alert": "booted in mode …, but its manifest said …" | null,
//    "key": host_keys.h's to_json (state, key_id, pending, refused, …)}
//
// Functions only; the caller holds the inventory (and a read transaction).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "fleet/agent_store.h"
#include "fleet/inventory.h"
#include "site/site.h"

namespace goldroot {

Result<nlohmann::json> fleet_status(Site& site, Inventory& inventory,
                                    const std::optional<std::string>& lab, int64_t now,
                                    int64_t unseen_after);

// {"host": "pc01", "boot_id", "sent_at", "received_at", "dirty", "changes": {…as reported…},
//  "history": [...]} for GET /api/v1/hosts/<name>/changes and `changes --host`.
Result<nlohmann::json> host_changes(Inventory& inventory, const std::string& host);

}  // namespace goldroot

// What the fleet needs from the image store beyond refs: which hosts are
// assigned to a commit (`image users`), and the commits gc must keep because
// a host pins them or a recent channel history entry names them (so a
// rollback to them stays possible). Lives in fleet, above store, so that
// store never depends on the inventory.
// Running state — the commit a host actually booted — comes from its
// agent's last report (fleet/agent_store.h): a host whose last report is
// not a shutdown may still be running it, so gc keeps that commit.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "fleet/inventory.h"
#include "store/store.h"

namespace goldroot {

struct CommitUser {
  std::string host;
  std::string via;  // "channel gold (lab)", "pin (host)"
};

// Hosts whose effective channel or pin resolves to `commit`, given the
// channels' current commits.
Result<std::vector<CommitUser>> hosts_assigned(Inventory& inventory,
                                               const std::map<std::string, Digest>& channels,
                                               const Digest& commit);

// Hosts whose agent last reported running `commit` and has not reported a
// shutdown since; `via` says when ("running, reported 2026-11-22 04:58 UTC").
Result<std::vector<CommitUser>> hosts_running(Inventory& inventory, const Digest& commit);

// Commits pinned by hosts or labs' hosts ("pin host NAME"), commits hosts
// are running ("running on NAME", see hosts_running) and commits named
// by channel history entries newer than `history_since` (epoch seconds)
// ("channel history gold #12").
Result<std::map<Digest, std::vector<std::string>>> site_roots(Store& store, Inventory& inventory,
                                                              int64_t history_since);

}  // namespace goldroot

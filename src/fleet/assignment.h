// `key=value` edits, as `goldroot host set` and `goldroot lab set` take them.
// An empty value clears a setting so that it is inherited again
// (`mode=` makes the host follow its lab). Host keys: name, mac (comma
// list, replaces all), ip, lab, arch, channel, pin (a commit; clears the
// channel), mode, fetch, notes, var.NAME. Lab keys: channel, mode, fetch, prefetch,
// networks (comma list), notes. Values are checked as they are applied; channels and
// pins against the store.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "fleet/model.h"
#include "store/store.h"

namespace goldroot {

struct Assignment {
  std::string key;
  std::string value;
};

// Splits each "key=value" at its first '='.
Result<std::vector<Assignment>> parse_assignments(const std::vector<std::string>& args);

// "aa:bb:…,cc:dd:…" → canonical MACs.
Result<std::vector<std::string>> parse_mac_list(const std::string& text);

Status apply(Host& host, const Assignment& assignment, const Store& store);
Status apply(Lab& lab, const Assignment& assignment, const Store& store);

}  // namespace goldroot

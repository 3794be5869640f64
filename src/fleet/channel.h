// Channels a host or lab may follow, and commits a host may be pinned to.
// The three built-in channels (test, gold, previous) are always accepted,
// even before anything was promoted to them; any other channel must exist as
// a ref under SITE/store/refs/channels/. Reads the store; changes nothing.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "store/store.h"

namespace goldroot {

inline constexpr const char* kDefaultChannel = "gold";

// test, gold, previous and every channel ref in the store, sorted.
Result<std::vector<std::string>> known_channels(const Store& store);
// An unknown channel is an error listing the known ones.
Status validate_channel(const Store& store, const std::string& channel);
// Resolves an image name, channel or commit (prefix) to the full commit id.
Result<std::string> resolve_pinned_commit(const Store& store, const std::string& ref);

}  // namespace goldroot

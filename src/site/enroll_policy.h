// EnrollPolicy: how a host's key gets enrolled when the host presents one
// while it has none (fleet/host_keys.h has the whole story). A site has a
// default (SiteSettings::enroll) and a lab may set its own (Lab::enroll);
// fleet/effective.h says which one holds for a host. It lives here, below
// the fleet, because the site's settings carry it. Pure functions.
#pragma once

#include <string_view>

#include "base/result.h"

namespace goldroot {

enum class EnrollPolicy { kAdmin, kFirstUse, kPort };

const char* enroll_policy_name(EnrollPolicy policy);  // "admin", "first-use", "port"
// One of admin, first-use, port; anything else is one sentence naming them.
Result<EnrollPolicy> parse_enroll_policy(std::string_view text);

}  // namespace goldroot

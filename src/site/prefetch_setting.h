// PrefetchSetting: when a host's agent fetches the image its channel now
// points to, before the host boots it (issue #19), so the nightly reset
// boots a local copy. `off` never; `now` as soon as the channel moves;
// `HH:MM-HH:MM` only inside that daily window of the server's local time
// (like `lab set reset-at=`), which may wrap past midnight (22:00-06:00).
// A site has a default (SiteSettings::prefetch, off) and a lab may set its
// own (Lab::prefetch). The server decides with prefetch_open() at each
// report whether to hand the agent a pre-fetch order; outside the window it
// hands none, and the agent stops (what it fetched stays, and is resumed).
// Pure functions and values; the clock is the caller's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace goldroot {

enum class PrefetchKind { kOff, kNow, kWindow };

struct PrefetchSetting {
  PrefetchKind kind = PrefetchKind::kOff;
  // kWindow: minutes since local midnight, [start, end); end < start wraps
  // past midnight. Never equal.
  int start_minute = 0;
  int end_minute = 0;
  bool operator==(const PrefetchSetting&) const = default;
};

// "off", "now", "22:00-06:00".
std::string prefetch_setting_name(const PrefetchSetting& setting);
// One of off, now, HH:MM-HH:MM; anything else is one sentence naming them.
Result<PrefetchSetting> parse_prefetch_setting(std::string_view text);
// Whether an agent may pre-fetch at `minute_of_day` (0..1439, local time).
bool prefetch_open(const PrefetchSetting& setting, int minute_of_day);
// The minute of the day of `unix_seconds` in this process's local time zone.
int local_minute_of_day(int64_t unix_seconds);

}  // namespace goldroot

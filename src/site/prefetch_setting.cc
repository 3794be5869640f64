#include "site/prefetch_setting.h"

#include <cstdio>
#include <ctime>

namespace goldroot {

namespace {

// "HH:MM" -> minutes since midnight; -1 when it is not a time of day.
int parse_time_of_day(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return -1;
  for (size_t i : {0, 1, 3, 4})
    if (text[i] < '0' || text[i] > '9') return -1;
  int hours = (text[0] - '0') * 10 + (text[1] - '0');
  int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (hours > 23 || minutes > 59) return -1;
  return hours * 60 + minutes;
}

std::string time_of_day(int minute) {
  char text[16];
  std::snprintf(text, sizeof text, "%02d:%02d", (minute / 60) % 24, minute % 60);
  return text;
}

}  // namespace

std::string prefetch_setting_name(const PrefetchSetting& setting) {
  switch (setting.kind) {
    case PrefetchKind::kOff:
      return "off";
    case PrefetchKind::kNow:
      return "now";
    case PrefetchKind::kWindow:
      return time_of_day(setting.start_minute) + "-" + time_of_day(setting.end_minute);
  }
  return "off";
}

Result<PrefetchSetting> parse_prefetch_setting(std::string_view text) {
  PrefetchSetting setting;
  if (text == "off") return setting;
  if (text == "now") {
    setting.kind = PrefetchKind::kNow;
    return setting;
  }
  size_t dash = text.find('-');
  int start = dash == std::string_view::npos ? -1 : parse_time_of_day(text.substr(0, dash));
  int end = dash == std::string_view::npos ? -1 : parse_time_of_day(text.substr(dash + 1));
  if (start < 0 || end < 0)
    return make_error(ErrorCode::kInvalidArgument,
                      "unknown prefetch '" + std::string(text) +
                          "'; choose off, now (fetch the next image as soon as its channel "
                          "moves) or a daily window of the server's local time such as "
                          "22:00-06:00");
  if (start == end)
    return make_error(ErrorCode::kInvalidArgument,
                      "the prefetch window " + std::string(text) +
                          " is empty; give two different times, or now for always");
  setting.kind = PrefetchKind::kWindow;
  setting.start_minute = start;
  setting.end_minute = end;
  return setting;
}

bool prefetch_open(const PrefetchSetting& setting, int minute_of_day) {
  switch (setting.kind) {
    case PrefetchKind::kOff:
      return false;
    case PrefetchKind::kNow:
      return true;
    case PrefetchKind::kWindow:
      if (setting.start_minute < setting.end_minute)
        return minute_of_day >= setting.start_minute && minute_of_day < setting.end_minute;
      return minute_of_day >= setting.start_minute || minute_of_day < setting.end_minute;
  }
  return false;
}

int local_minute_of_day(int64_t unix_seconds) {
  time_t seconds = static_cast<time_t>(unix_seconds);
  struct tm local;
  localtime_r(&seconds, &local);
  return local.tm_hour * 60 + local.tm_min;
}

}  // namespace goldroot

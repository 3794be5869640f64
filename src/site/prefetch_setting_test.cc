#include "site/prefetch_setting.h"

#include <cstdlib>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

int minute(int hours, int minutes) { return hours * 60 + minutes; }

TEST(PrefetchSettingTest, EverySettingRoundTrips) {
  for (const char* text : {"off", "now", "22:00-06:00", "01:30-04:45", "00:00-23:59"}) {
    ASSERT_OK_AND_ASSIGN(PrefetchSetting setting, parse_prefetch_setting(text));
    EXPECT_EQ(prefetch_setting_name(setting), text);
  }
}

TEST(PrefetchSettingTest, BadSettingsAreOneSentence) {
  for (const char* text : {"", "later", "22:00", "22:00-", "24:00-01:00", "22:60-23:00",
                           "2:00-3:00", "22:00-06:00x", "aa:bb-cc:dd", "12:00-12:00"}) {
    auto parsed = parse_prefetch_setting(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << text;
    EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos) << text;
  }
  EXPECT_NE(parse_prefetch_setting("later").error().message.find("22:00-06:00"),
            std::string::npos);
  EXPECT_NE(parse_prefetch_setting("12:00-12:00").error().message.find("empty"),
            std::string::npos);
}

TEST(PrefetchSettingTest, OffNeverNowAlways) {
  PrefetchSetting off = parse_prefetch_setting("off").value();
  PrefetchSetting now = parse_prefetch_setting("now").value();
  for (int at = 0; at < 24 * 60; at += 7) {
    EXPECT_FALSE(prefetch_open(off, at));
    EXPECT_TRUE(prefetch_open(now, at));
  }
}

TEST(PrefetchSettingTest, WindowWithinADay) {
  PrefetchSetting window = parse_prefetch_setting("01:30-04:45").value();
  EXPECT_FALSE(prefetch_open(window, minute(1, 29)));
  EXPECT_TRUE(prefetch_open(window, minute(1, 30)));  // the start is inside
  EXPECT_TRUE(prefetch_open(window, minute(3, 0)));
  EXPECT_TRUE(prefetch_open(window, minute(4, 44)));
  EXPECT_FALSE(prefetch_open(window, minute(4, 45)));  // the end is not
  EXPECT_FALSE(prefetch_open(window, minute(12, 0)));
}

TEST(PrefetchSettingTest, WindowPastMidnight) {
  PrefetchSetting window = parse_prefetch_setting("22:00-06:00").value();
  EXPECT_FALSE(prefetch_open(window, minute(21, 59)));
  EXPECT_TRUE(prefetch_open(window, minute(22, 0)));
  EXPECT_TRUE(prefetch_open(window, minute(23, 59)));
  EXPECT_TRUE(prefetch_open(window, minute(0, 0)));
  EXPECT_TRUE(prefetch_open(window, minute(5, 59)));
  EXPECT_FALSE(prefetch_open(window, minute(6, 0)));
  EXPECT_FALSE(prefetch_open(window, minute(14, 0)));
}

// The clock is injected as Unix seconds; the zone is the process's.
TEST(PrefetchSettingTest, LocalMinuteOfDayFollowsTheZone) {
  const char* old = std::getenv("TZ");
  std::string saved = old ? old : "";
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  EXPECT_EQ(local_minute_of_day(0), 0);
  EXPECT_EQ(local_minute_of_day(86400 + 22 * 3600 + 30 * 60 + 59), minute(22, 30));
  ::setenv("TZ", "UTC-2", 1);  // two hours east of UTC
  ::tzset();
  EXPECT_EQ(local_minute_of_day(86400 + 22 * 3600 + 30 * 60), minute(0, 30));
  PrefetchSetting window = parse_prefetch_setting("22:00-06:00").value();
  EXPECT_TRUE(prefetch_open(window, local_minute_of_day(86400 + 22 * 3600 + 30 * 60)));
  EXPECT_FALSE(prefetch_open(window, local_minute_of_day(86400 + 12 * 3600)));
  if (old) ::setenv("TZ", saved.c_str(), 1);
  else ::unsetenv("TZ");
  ::tzset();
}

}  // namespace
}  // namespace goldroot

#include "server/fill_lane.h"

#include <gtest/gtest.h>

namespace goldroot::server {
namespace {

using std::chrono::milliseconds;
using Clock = FillLane::Clock;

// A link of 1,000,000 bytes/s: 900,000 shared by boots and fills while
// boots run, 50,000 for fills alone. The clock is the test's.
class FillLaneTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kKiB = 1024;
  FillLaneOptions options_{.link_rate = 1'000'000,
                           .utilization = 0.9,
                           .floor_share = 0.05,
                           .quiet_after = milliseconds(1000),
                           .burst = 64 * kKiB,
                           .min_grant = 16 * kKiB};
  Clock::time_point now_ = Clock::time_point() + std::chrono::hours(1);
  FillLane lane_{options_, now_};

  // Sends fills of `unit` bytes for `span`, asking again when told; the
  // bytes they got.
  uint64_t fill_for(milliseconds span, uint64_t unit) {
    uint64_t sent = 0;
    const Clock::time_point end = now_ + span;
    while (now_ < end) {
      uint64_t given = lane_.grant(now_, unit);
      sent += given;
      if (given == 0) now_ = std::min(end, lane_.retry_at(now_, unit));
    }
    return sent;
  }
};

TEST_F(FillLaneTest, WithoutBootsFillsGoAtFullSpeed) {
  EXPECT_FALSE(lane_.foreground_active(now_));
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(lane_.grant(now_, 1 << 20), 1u << 20);
}

TEST_F(FillLaneTest, WhileBootsReadFillsWaitForTheBudget) {
  lane_.foreground_sent(now_, 128 * kKiB);  // more than the bucket held
  EXPECT_TRUE(lane_.foreground_active(now_));
  // The floor's 64 KiB is there at once; then the fill waits.
  EXPECT_EQ(lane_.grant(now_, 64 * kKiB), 64 * kKiB);
  EXPECT_EQ(lane_.grant(now_, 64 * kKiB), 0u);
  Clock::time_point retry = lane_.retry_at(now_, 64 * kKiB);
  EXPECT_GT(retry, now_);
  // Asked again exactly then, it gets at least the minimum grant.
  EXPECT_GE(lane_.grant(retry, 64 * kKiB), options_.min_grant);
}

TEST_F(FillLaneTest, FillsGetWhatTheBootsLeaveOfTheLink) {
  // Boots take 600,000 bytes/s of the 900,000 shared: fills get about the
  // other 300,000 plus the floor's 50,000.
  uint64_t filled = 0;
  for (int tick = 0; tick < 100; ++tick) {  // 10 s in 100 ms steps
    lane_.foreground_sent(now_, 60'000);
    filled += fill_for(milliseconds(100), 64 * kKiB);
  }
  const double rate = static_cast<double>(filled) / 10.0;
  EXPECT_GT(rate, 300'000.0);
  EXPECT_LT(rate, 400'000.0);
}

TEST_F(FillLaneTest, BootsThatTakeTheWholeLinkStillLeaveFillsTheirFloor) {
  uint64_t filled = 0;
  for (int tick = 0; tick < 100; ++tick) {
    lane_.foreground_sent(now_, 200'000);  // twice the link
    filled += fill_for(milliseconds(100), 64 * kKiB);
  }
  const double rate = static_cast<double>(filled) / 10.0;
  EXPECT_GT(rate, 40'000.0);  // never starved
  EXPECT_LT(rate, 60'000.0);
}

TEST_F(FillLaneTest, FullSpeedAgainOnceTheBootsAreQuiet) {
  lane_.foreground_sent(now_, 10 * 1024 * 1024);
  (void)lane_.grant(now_, 1 << 20);
  EXPECT_EQ(lane_.grant(now_, 1 << 20), 0u);
  // A fill told to wait is not told to wait past the quiet point.
  EXPECT_LE(lane_.retry_at(now_, 1 << 20), now_ + milliseconds(1000));
  now_ += milliseconds(1000);
  EXPECT_FALSE(lane_.foreground_active(now_));
  EXPECT_EQ(lane_.grant(now_, 1 << 20), 1u << 20);
}

TEST_F(FillLaneTest, ASmallRemainderIsGrantedWholeAndNothingIsEverNegative) {
  lane_.foreground_sent(now_, 1);
  EXPECT_EQ(lane_.grant(now_, 100), 100u);
  EXPECT_EQ(lane_.grant(now_, 0), 0u);
  // Drain the buckets in small asks; each answer is all or nothing above
  // the minimum, never more than asked.
  for (int i = 0; i < 100; ++i) EXPECT_LE(lane_.grant(now_, 5000), 5000u);
}

TEST(LinkRate, ParsesTcSpellingsIntoBytesPerSecond) {
  EXPECT_EQ(parse_link_rate("1gbit").value(), 125'000'000u);
  EXPECT_EQ(parse_link_rate("100mbit").value(), 12'500'000u);
  EXPECT_EQ(parse_link_rate("2500kbit").value(), 312'500u);
  EXPECT_EQ(parse_link_rate("8000").value(), 1000u);
  for (const char* bad : {"", "gbit", "1 gbit", "0", "1tbit", "-1gbit", "1.5gbit"})
    EXPECT_FALSE(parse_link_rate(bad).ok()) << bad;
}

}  // namespace
}  // namespace goldroot::server

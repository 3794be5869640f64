// FillLane: gives a booting PC's reads the server's link before other PCs'
// background fills. goldroot-blockd marks the requests of its background
// fill (kFillHeader); every other file response is foreground. While a
// foreground response went out within `quiet_after`, fill responses send
// their bodies only from a budget: a token bucket refilled at
// `link_rate * utilization` that foreground bytes draw from too (they never
// wait; they may put it in debt), so fills get what the boots leave of the
// link, and the link's queue stays short for the next boot read. A second
// bucket, `floor_share` of the link for fills alone, keeps fills moving
// however busy the boots are (never starved). With no foreground for
// `quiet_after`, fills go at full speed.
//
// A client that marks its boot reads as fill only slows itself; one that
// leaves its fill unmarked competes as a boot (TCP's fair share), as every
// client did before the lane.
//
// The clock is passed in (tests drive it). Thread-safe: one lane serves
// every worker.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "base/result.h"

namespace goldroot::server {

// The request header that marks a fill: "X-Goldroot-Fill: 1".
inline constexpr std::string_view kFillHeader = "x-goldroot-fill";

// A link rate as tc spells it: "1gbit", "100mbit", "2500kbit" or bits/s;
// in bytes/s.
Result<uint64_t> parse_link_rate(std::string_view text);

struct FillLaneOptions {
  uint64_t link_rate = 125'000'000;  // bytes/s: 1 Gbit/s
  double utilization = 0.9;          // boots + fills while boots run
  double floor_share = 0.05;         // of the link, for fills however busy
  std::chrono::milliseconds quiet_after{1000};
  // Bucket depth: how much may go at once after a pause.
  uint64_t burst = 256 * 1024;
  // A fill waits for at least this much budget (or what it still has to
  // send, if less) rather than trickling out in small sends.
  uint64_t min_grant = 16 * 1024;
};

class FillLane {
 public:
  using Clock = std::chrono::steady_clock;

  explicit FillLane(FillLaneOptions options, Clock::time_point now = Clock::now());

  // A foreground response sent `bytes` of its body.
  void foreground_sent(Clock::time_point now, uint64_t bytes);
  // How many of `wanted` body bytes a fill response may send now; taken
  // from the budget. 0: wait until retry_at().
  uint64_t grant(Clock::time_point now, uint64_t wanted);
  // Gives back granted bytes the socket did not take.
  void refund(uint64_t bytes);
  // When a fill that got 0 for `wanted` bytes should ask again.
  Clock::time_point retry_at(Clock::time_point now, uint64_t wanted);
  // Whether fills are held to the budget now (a boot read was answered
  // within quiet_after).
  bool foreground_active(Clock::time_point now);

 private:
  void refill(Clock::time_point now);
  uint64_t needed(uint64_t wanted) const;

  const FillLaneOptions options_;
  const double shared_rate_;  // bytes/s
  const double floor_rate_;   // bytes/s
  std::mutex mutex_;
  Clock::time_point refilled_;
  Clock::time_point last_foreground_;
  bool any_foreground_ = false;
  double shared_ = 0;  // tokens, may be negative (foreground debt)
  double floor_ = 0;
};

}  // namespace goldroot::server

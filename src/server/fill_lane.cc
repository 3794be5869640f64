#include "server/fill_lane.h"

#include <algorithm>
#include <cmath>

#include "base/strings.h"

namespace goldroot::server {

namespace {

double seconds(FillLane::Clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

}  // namespace

Result<uint64_t> parse_link_rate(std::string_view text) {
  struct Unit {
    std::string_view suffix;
    uint64_t bits;
  };
  static constexpr Unit kUnits[] = {{"gbit", 1'000'000'000}, {"mbit", 1'000'000}, {"kbit", 1'000}};
  uint64_t multiplier = 1;
  std::string_view number = text;
  for (const Unit& unit : kUnits)
    if (ends_with(text, unit.suffix)) {
      number = text.substr(0, text.size() - unit.suffix.size());
      multiplier = unit.bits;
      break;
    }
  uint64_t value = 0;
  if (!parse_uint64(number, &value) || value == 0 || value > UINT64_MAX / multiplier)
    return make_error(ErrorCode::kInvalidArgument,
                      "a link rate is a number of bits/s, with kbit, mbit or gbit (e.g. 1gbit), "
                      "not '" + std::string(text) + "'");
  return value * multiplier / 8;
}

FillLane::FillLane(FillLaneOptions options, Clock::time_point now)
    : options_(options),
      shared_rate_(static_cast<double>(options.link_rate) * options.utilization),
      floor_rate_(static_cast<double>(options.link_rate) * options.floor_share),
      refilled_(now),
      last_foreground_(now),
      shared_(static_cast<double>(options.burst)),
      floor_(static_cast<double>(options.burst)) {}

void FillLane::refill(Clock::time_point now) {
  if (now <= refilled_) return;
  const double elapsed = seconds(now - refilled_);
  const auto burst = static_cast<double>(options_.burst);
  shared_ = std::min(burst, shared_ + shared_rate_ * elapsed);
  floor_ = std::min(burst, floor_ + floor_rate_ * elapsed);
  refilled_ = now;
}

uint64_t FillLane::needed(uint64_t wanted) const { return std::min(wanted, options_.min_grant); }

bool FillLane::foreground_active(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  return any_foreground_ && now - last_foreground_ < options_.quiet_after;
}

void FillLane::foreground_sent(Clock::time_point now, uint64_t bytes) {
  std::lock_guard lock(mutex_);
  refill(now);
  // Debt beyond what the link carries in quiet_after is forgotten: by then
  // the boots that ran it up are answered.
  const double most_debt = shared_rate_ * seconds(options_.quiet_after);
  shared_ = std::max(-most_debt, shared_ - static_cast<double>(bytes));
  last_foreground_ = std::max(last_foreground_, now);
  any_foreground_ = true;
}

uint64_t FillLane::grant(Clock::time_point now, uint64_t wanted) {
  std::lock_guard lock(mutex_);
  if (!any_foreground_ || now - last_foreground_ >= options_.quiet_after) return wanted;
  refill(now);
  const double available = std::max(shared_, 0.0) + floor_;
  // (A byte's slack: retry_at's time, computed in floating point, may
  // arrive a hair before the last token.)
  if (wanted == 0 || available + 1 < static_cast<double>(needed(wanted))) return 0;
  const uint64_t given = std::min(wanted, static_cast<uint64_t>(std::ceil(available)));
  double rest = static_cast<double>(given);
  const double from_shared = std::min(rest, std::max(shared_, 0.0));
  shared_ -= from_shared;
  rest -= from_shared;
  floor_ -= rest;
  return given;
}

void FillLane::refund(uint64_t bytes) {
  std::lock_guard lock(mutex_);
  shared_ = std::min(static_cast<double>(options_.burst), shared_ + static_cast<double>(bytes));
}

FillLane::Clock::time_point FillLane::retry_at(Clock::time_point now, uint64_t wanted) {
  std::lock_guard lock(mutex_);
  const Clock::time_point quiet = last_foreground_ + options_.quiet_after;
  if (!any_foreground_ || now >= quiet) return now;
  refill(now);
  const auto need = static_cast<double>(needed(wanted));
  double wait;  // seconds
  if (std::max(shared_, 0.0) + floor_ >= need) {
    wait = 0;
  } else if (shared_ >= 0) {
    wait = (need - shared_ - floor_) / (shared_rate_ + floor_rate_);
  } else {
    // The shared bucket pays off its debt first; meanwhile only the floor
    // fills.
    const double debt_paid = shared_rate_ > 0 ? -shared_ / shared_rate_ : INFINITY;
    const double floor_alone = floor_rate_ > 0 ? (need - floor_) / floor_rate_ : INFINITY;
    wait = floor_alone <= debt_paid
               ? floor_alone
               : debt_paid + (need - floor_ - floor_rate_ * debt_paid) / (shared_rate_ + floor_rate_);
  }
  // In whole milliseconds (the event loop's resolution), rounded up; at
  // least one, at most until the boots have gone quiet.
  const auto delay = std::chrono::ceil<std::chrono::milliseconds>(
      std::chrono::duration<double>(std::isfinite(wait) ? wait : seconds(quiet - now)));
  return std::min(quiet, now + std::max<Clock::duration>(delay, std::chrono::milliseconds(1)));
}

}  // namespace goldroot::server

#include "server/byte_range.h"

#include <limits>

#include "base/strings.h"

namespace goldroot::server {

namespace {

constexpr uint64_t kSaturated = std::numeric_limits<uint64_t>::max();

// Parses digits, saturating instead of overflowing: a position past any
// file is as good as infinity. False when `text` is not all digits.
bool parse_position(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    value = value > (kSaturated - digit) / 10 ? kSaturated : value * 10 + digit;
  }
  *out = value;
  return true;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

}  // namespace

RangeSelection select_range(std::string_view header, uint64_t size) {
  RangeSelection whole;
  header = trim(header);
  size_t equals = header.find('=');
  if (equals == std::string_view::npos) return whole;
  if (!equals_ignoring_case(trim(header.substr(0, equals)), "bytes")) return whole;
  std::string_view spec = trim(header.substr(equals + 1));
  if (spec.find(',') != std::string_view::npos) return whole;  // no multipart
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  std::string_view first_text = trim(spec.substr(0, dash));
  std::string_view last_text = trim(spec.substr(dash + 1));

  RangeSelection unsatisfiable{RangeKind::kUnsatisfiable, {}};
  if (first_text.empty()) {  // suffix: the last n bytes
    uint64_t suffix = 0;
    if (!parse_position(last_text, &suffix)) return whole;
    if (suffix == 0 || size == 0) return unsatisfiable;
    uint64_t length = suffix < size ? suffix : size;
    return {RangeKind::kPartial, {size - length, length}};
  }
  uint64_t first = 0;
  if (!parse_position(first_text, &first)) return whole;
  uint64_t last = kSaturated;
  if (!last_text.empty()) {
    if (!parse_position(last_text, &last)) return whole;
    if (last < first) return whole;  // invalid syntax per RFC: ignored
  }
  if (first >= size) return unsatisfiable;
  if (last >= size) last = size - 1;
  return {RangeKind::kPartial, {first, last - first + 1}};
}

}  // namespace goldroot::server

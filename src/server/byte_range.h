// ByteRange: the one range of a representation that a request's
// `Range: bytes=…` header selects (RFC 9110 §14). goldroot serves a single
// range; a header it cannot honour exactly (another unit, several ranges,
// bad syntax) is ignored and the whole representation is sent, as the RFC
// allows. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace goldroot::server {

struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
  uint64_t last() const { return first + length - 1; }
};

enum class RangeKind {
  kWhole,          // no usable Range header: send everything (200)
  kPartial,        // send `range` (206)
  kUnsatisfiable,  // nothing of the representation matches (416)
};

struct RangeSelection {
  RangeKind kind = RangeKind::kWhole;
  ByteRange range;
};

// Resolves the value of a Range header against a representation of `size` bytes:
// "bytes=a-b", "bytes=a-", "bytes=-n".
RangeSelection select_range(std::string_view header, uint64_t size);

}  // namespace goldroot::server

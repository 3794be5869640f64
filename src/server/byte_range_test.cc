#include "server/byte_range.h"

#include <gtest/gtest.h>

namespace goldroot::server {
namespace {

void expect_partial(std::string_view header, uint64_t size, uint64_t first, uint64_t length) {
  RangeSelection selection = select_range(header, size);
  ASSERT_EQ(selection.kind, RangeKind::kPartial) << header;
  EXPECT_EQ(selection.range.first, first) << header;
  EXPECT_EQ(selection.range.length, length) << header;
}

TEST(ByteRange, SelectsTheThreeSingleRangeForms) {
  expect_partial("bytes=0-99", 1000, 0, 100);
  expect_partial("bytes=500-", 1000, 500, 500);
  expect_partial("bytes=-10", 1000, 990, 10);
  expect_partial("bytes=999-999", 1000, 999, 1);
  expect_partial(" Bytes = 1 - 2 ", 1000, 1, 2);
}

TEST(ByteRange, ClampsPastTheEnd) {
  expect_partial("bytes=900-5000", 1000, 900, 100);
  expect_partial("bytes=-5000", 1000, 0, 1000);
  expect_partial("bytes=0-99999999999999999999999999", 1000, 0, 1000);
}

TEST(ByteRange, UnsatisfiableRanges) {
  EXPECT_EQ(select_range("bytes=1000-", 1000).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(select_range("bytes=1000-2000", 1000).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(select_range("bytes=-0", 1000).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(select_range("bytes=0-", 0).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(select_range("bytes=-5", 0).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(select_range("bytes=99999999999999999999999-", 10).kind, RangeKind::kUnsatisfiable);
}

TEST(ByteRange, IgnoresWhatItCannotHonourExactly) {
  for (const char* header : {"", "bytes", "items=0-1", "bytes=0-1,5-6", "bytes=5-1", "bytes=a-b",
                             "bytes=-", "bytes=0x10-", "bytes=1-2-3", "bytes=+1-2"})
    EXPECT_EQ(select_range(header, 1000).kind, RangeKind::kWhole) << header;
}

}  // namespace
}  // namespace goldroot::server

#include "base/strings.h"

#include <gtest/gtest.h>

namespace goldroot {
namespace {

TEST(Printable, ShowsEveryTerminalControlAsHex) {
  // ESC [2J clears the screen; OSC 52 sets the clipboard; U+009B is CSI.
  EXPECT_EQ(printable("\x1b[2Jclean"), "\\x1b[2Jclean");
  EXPECT_EQ(printable("\x1b]52;c;cm0gLXJm\x07"), "\\x1b]52;c;cm0gLXJm\\x07");
  EXPECT_EQ(printable("a\xc2\x9b" "31mb"), "a\\xc2\\x9b31mb");
  EXPECT_EQ(printable("line\r\nnext\x7f"), "line\\x0d\\x0anext\\x7f");
}

TEST(Printable, KeepsTextAndLinesWhenAsked) {
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \\ ok"), "caf\xc3\xa9 \xe2\x82\xac \\ ok");
  EXPECT_EQ(printable("-a\n+b\tc\n", KeepLines::kYes), "-a\n+b\tc\n");
  EXPECT_EQ(printable("-a\n+\x1b[1Ab\n", KeepLines::kYes), "-a\n+\\x1b[1Ab\n");
}

TEST(EditDistance, CountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(edit_distance("status", "status"), 0u);
  EXPECT_EQ(edit_distance("staus", "status"), 1u);
  EXPECT_EQ(edit_distance("image", "imgae"), 2u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(EditDistance, IsSymmetricAndBoundedByTheLongerWord) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("sitting", "kitten"), 3u);
  EXPECT_EQ(edit_distance("abc", "xyz"), 3u);
  EXPECT_EQ(edit_distance("export", "exprot"), 2u);
  EXPECT_EQ(edit_distance("image", "images"), 1u);
  EXPECT_EQ(edit_distance("images", "image"), 1u);
}

TEST(HumanBytes, BytesBelowOneKibibyteAreExact) {
  EXPECT_EQ(human_bytes(0), "0 B");
  EXPECT_EQ(human_bytes(1), "1 B");
  EXPECT_EQ(human_bytes(1023), "1023 B");
}

TEST(HumanBytes, LargerSizesUseOneDecimalInBinaryUnits) {
  EXPECT_EQ(human_bytes(1024), "1.0 KiB");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(3u << 19), "1.5 MiB");
  EXPECT_EQ(human_bytes(5ull << 30), "5.0 GiB");
  EXPECT_EQ(human_bytes(2ull << 40), "2.0 TiB");
  // TiB is the largest unit.
  EXPECT_EQ(human_bytes(1ull << 50), "1024.0 TiB");
}

// The unit is chosen after rounding: 1048575 bytes is "1.0 MiB", not "1024.0 KiB".
TEST(HumanBytes, RoundsUpIntoTheNextUnit) {
  EXPECT_EQ(human_bytes((1u << 20) - 1), "1.0 MiB");
  EXPECT_EQ(human_bytes((1ull << 30) - 1), "1.0 GiB");
}

TEST(FormatUtc, FormatsSecondsSinceTheEpochInUtc) {
  EXPECT_EQ(format_utc(0), "1970-01-01 00:00:00");
  EXPECT_EQ(format_utc(1795341845), "2026-11-22 10:04:05");
  EXPECT_EQ(format_utc(1709208000, "%Y-%m-%dT%H:%M:%SZ"), "2024-02-29T12:00:00Z");
  EXPECT_EQ(format_utc(-1), "1969-12-31 23:59:59");
}

// A long format is neither cut nor read past its end.
TEST(FormatUtc, LongFormatIsNotCutOrOverread) {
  EXPECT_EQ(format_utc(0, "%Y-%m-%d %H:%M:%S (%A, %d %B %Y)"),
            "1970-01-01 00:00:00 (Thursday, 01 January 1970)");
}

TEST(ParseUint64, RefusesAnythingButDecimalDigits) {
  uint64_t value = 0;
  EXPECT_TRUE(parse_uint64("18446744073709551615", &value));
  EXPECT_EQ(value, UINT64_MAX);
  EXPECT_FALSE(parse_uint64("18446744073709551616", &value));
  EXPECT_FALSE(parse_uint64("", &value));
  EXPECT_FALSE(parse_uint64("-1", &value));
  EXPECT_FALSE(parse_uint64("1 ", &value));
}

TEST(ParseUint64, AcceptsZeroAndLeadingZeros) {
  uint64_t value = 99;
  EXPECT_TRUE(parse_uint64("0", &value));
  EXPECT_EQ(value, 0u);
  EXPECT_TRUE(parse_uint64("007", &value));
  EXPECT_EQ(value, 7u);
}

TEST(ParseUint64, RefusesSignsSpacesBasesAndFractions) {
  uint64_t value = 0;
  EXPECT_FALSE(parse_uint64("+1", &value));
  EXPECT_FALSE(parse_uint64("-0", &value));
  EXPECT_FALSE(parse_uint64(" 1", &value));
  EXPECT_FALSE(parse_uint64("0x1f", &value));
  EXPECT_FALSE(parse_uint64("1.5", &value));
  EXPECT_FALSE(parse_uint64("1e3", &value));
  EXPECT_FALSE(parse_uint64("99999999999999999999999999", &value));
  EXPECT_FALSE(parse_uint64(std::string_view("12\0", 3), &value));
}

}  // namespace
}  // namespace goldroot

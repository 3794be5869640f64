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

TEST(ParseUint64, RefusesAnythingButDecimalDigits) {
  uint64_t value = 0;
  EXPECT_TRUE(parse_uint64("18446744073709551615", &value));
  EXPECT_EQ(value, UINT64_MAX);
  EXPECT_FALSE(parse_uint64("18446744073709551616", &value));
  EXPECT_FALSE(parse_uint64("", &value));
  EXPECT_FALSE(parse_uint64("-1", &value));
  EXPECT_FALSE(parse_uint64("1 ", &value));
}

}  // namespace
}  // namespace goldroot

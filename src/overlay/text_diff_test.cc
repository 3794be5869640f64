// unified_diff must print what `diff -u` prints (after the two header lines).
#include "overlay/text_diff.h"

#include "base/testing/testing.h"

namespace goldroot {
namespace {

using testing::read_file;
using testing::run;
using testing::TempDir;
using testing::write_file;

std::string diff_u(const std::string& a, const std::string& b) {
  TempDir temp;
  write_file(temp / "a", a);
  write_file(temp / "b", b);
  run("cd " + temp.path() + " && diff -u a b | tail -n +3 > out; true");
  return read_file(temp / "out");
}

std::string ours(const std::string& a, const std::string& b) {
  std::string diff = unified_diff(a, b, "a", "b");
  size_t body = diff.find('\n', diff.find('\n') + 1);
  return body == std::string::npos ? "" : diff.substr(body + 1);
}

TEST(UnifiedDiff, MatchesDiffU) {
  std::string base;
  for (int i = 1; i <= 40; ++i) base += "line " + std::to_string(i) + "\n";
  std::string edited = base;
  edited.replace(edited.find("line 3\n"), 7, "line three\n");
  edited.replace(edited.find("line 20\n"), 8, "");
  edited += "appended\n";
  const std::pair<std::string, std::string> cases[] = {
      {base, edited},
      {"", "new\n"},
      {"old\n", ""},
      {"a\nb\nc", "a\nb\nc\n"},          // missing final newline
      {"x\n", "y"},
      {"same\n" + base, base + "same\n"},
      {"a\nb\nc\nd\ne\nf\ng\nh\n", "a\nB\nc\nd\ne\nf\ng\nH\n"},  // hunks 6 apart merge
  };
  for (const auto& [a, b] : cases) EXPECT_EQ(ours(a, b), diff_u(a, b)) << a << "---\n" << b;
}

TEST(UnifiedDiff, EqualTextsGiveNothing) { EXPECT_EQ(unified_diff("a\n", "a\n", "x", "y"), ""); }

TEST(UnifiedDiff, Binary) {
  EXPECT_TRUE(looks_binary(std::string("ab\0cd", 5)));
  EXPECT_FALSE(looks_binary("plain text\n"));
}

}  // namespace
}  // namespace goldroot

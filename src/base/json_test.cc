#include "base/json.h"

#include <string>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

TEST(UntrustedJson, DeepNestingIsRefusedBeforeItIsParsed) {
  std::string deep = "{\"signature\":{\"x\":" + std::string(100000, '[') + std::string(100000, ']') + "}}";
  EXPECT_TRUE(parse_untrusted_json(deep).is_discarded());
  std::string sixty_four = std::string(64, '[') + std::string(64, ']');
  EXPECT_FALSE(parse_untrusted_json(sixty_four).is_discarded());
  EXPECT_TRUE(parse_untrusted_json(std::string(65, '[') + std::string(65, ']')).is_discarded());
}

TEST(UntrustedJson, BracketsInStringsDoNotCount) {
  std::string text = "{\"a\": \"" + std::string(1000, '[') + "\\\"" + "\", \"b\": [1, {\"c\": 2}]}";
  nlohmann::json parsed = parse_untrusted_json(text, 3);
  ASSERT_FALSE(parsed.is_discarded());
  EXPECT_EQ(parsed["b"][1]["c"], 2);
}

TEST(UntrustedJson, MalformedIsDiscardedNotThrown) {
  EXPECT_TRUE(parse_untrusted_json("{\"a\": ").is_discarded());
  EXPECT_TRUE(parse_untrusted_json<nlohmann::ordered_json>("[1,]").is_discarded());
}

}  // namespace
}  // namespace goldroot

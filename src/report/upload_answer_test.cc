#include "report/upload_answer.h"

#include "base/testing/testing.h"

namespace goldroot {
namespace {

const std::string kHex(64, 'a');

std::string error_of(std::string_view output) {
  auto answer = UploadAnswer::parse(output);
  if (answer.ok()) return "(parsed)";
  EXPECT_EQ(answer.error().code, ErrorCode::kCorruption);
  return answer.error().message;
}

TEST(UploadAnswerTest, ReadsWhatTheAgentSends) {
  ASSERT_OK_AND_ASSIGN(
      UploadAnswer answer,
      UploadAnswer::parse(R"({"sha256": ")" + kHex +
                          R"(", "bytes": 10240, "entries": 7,
                              "changed_while_read": ["/var/log/x"], "skipped_sockets": 1})"));
  EXPECT_EQ(answer.sha256.hex(), kHex);
  EXPECT_EQ(answer.bytes, 10240u);
  EXPECT_EQ(answer.entries, 7u);
  EXPECT_EQ(answer.changed_while_read, std::vector<std::string>{"/var/log/x"});
  EXPECT_EQ(answer.skipped_sockets, 1u);
}

TEST(UploadAnswerTest, OptionalFieldsMayBeAbsentOrNull) {
  ASSERT_OK_AND_ASSIGN(UploadAnswer answer,
                       UploadAnswer::parse(R"({"sha256": ")" + kHex +
                                           R"(", "bytes": 0, "entries": null,
                                               "changed_while_read": null})"));
  EXPECT_EQ(answer.entries, 0u);
  EXPECT_TRUE(answer.changed_while_read.empty());
}

// Each wrong type is a sentence naming the field, never an exception.
TEST(UploadAnswerTest, MalformedFieldsAreNamed) {
  const std::string sha = R"("sha256": ")" + kHex + R"(")";
  EXPECT_EQ(error_of(""), "it is not JSON");
  EXPECT_EQ(error_of("{\"sha256\": "), "it is not JSON");
  EXPECT_EQ(error_of(std::string(1000, '[')), "it is not JSON");
  EXPECT_EQ(error_of("[1, 2]"), "it is not a JSON object");
  EXPECT_EQ(error_of("\"done\""), "it is not a JSON object");
  EXPECT_EQ(error_of(R"({"bytes": 1})"), "\"sha256\" is missing");
  EXPECT_EQ(error_of(R"({"sha256": 12345, "bytes": 1})"), "\"sha256\" is not a string");
  EXPECT_EQ(error_of(R"({"sha256": ["x"], "bytes": 1})"), "\"sha256\" is not a string");
  EXPECT_EQ(error_of(R"({"sha256": "abc", "bytes": 1})"), "\"sha256\" is not 64 hex digits");
  EXPECT_EQ(error_of(R"({"sha256": ")" + std::string(64, 'g') + R"(", "bytes": 1})"),
            "\"sha256\" is not 64 hex digits");
  EXPECT_EQ(error_of("{" + sha + "}"), "\"bytes\" is missing");
  EXPECT_EQ(error_of("{" + sha + R"(, "bytes": "10240"})"), "\"bytes\" is not a whole number");
  EXPECT_EQ(error_of("{" + sha + R"(, "bytes": -1})"), "\"bytes\" is not a whole number");
  EXPECT_EQ(error_of("{" + sha + R"(, "bytes": 1.5})"), "\"bytes\" is not a whole number");
  EXPECT_EQ(error_of("{" + sha + R"(, "bytes": true})"), "\"bytes\" is not a whole number");
  EXPECT_EQ(error_of("{" + sha + R"(, "bytes": 1, "entries": "7"})"),
            "\"entries\" is not a whole number");
  EXPECT_EQ(error_of("{" + sha + R"(, "bytes": 1, "skipped_sockets": {}})"),
            "\"skipped_sockets\" is not a whole number");
  EXPECT_EQ(error_of("{" + sha + R"(, "bytes": 1, "changed_while_read": "/etc/x"})"),
            "\"changed_while_read\" is not a list");
  EXPECT_EQ(error_of("{" + sha + R"(, "bytes": 1, "changed_while_read": ["/etc/x", 3]})"),
            "\"changed_while_read\" holds something not a path");
}

}  // namespace
}  // namespace goldroot

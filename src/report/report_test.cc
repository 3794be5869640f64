#include "report/report.h"

#include "base/testing/testing.h"
#include "crypto/hmac.h"

namespace goldroot {
namespace {

Report sample() {
  Report report;
  report.host = "pc01";
  report.mac = "52:54:00:aa:00:01";
  report.boot_id = "3f0c6a1e-aaaa-bbbb-cccc-0123456789ab";
  report.sequence = 1234;
  report.sent_at = 1795000000;
  report.event = "start";
  report.commit = std::string(64, 'a');
  report.manifest_sha256 = std::string(64, 'b');
  report.mode = "normal";
  report.upper_kind = "tmpfs";
  report.upper_used_bytes = 4096;
  report.upper_total_bytes = 1 << 30;
  report.root = {.backing = "network", .blocks = 75000, .present = 4400,
                 .fetched_bytes = 18022400, .seeded_bytes = 270336000, .verify_failures = 1,
                 .error = "block 17 did not match the image's hash tree"};
  report.dirty = true;
  report.changes.total = 2;
  report.changes.ignored = 7;
  report.changes.counts = {{"added", 1}, {"modified", 1}};
  report.changes.paths = {{"/etc/added", "added"}, {"/etc/motd", "modified"}};
  report.uptime_seconds = 3600;
  report.interval_seconds = 60;
  report.users = {{"alice", "tty1", "", 1794999000}};
  report.last_input = 1794999999;
  report.results = {{7, "reboot-when-idle", CommandStatus::kWaiting, "1 user session(s) open"}};
  return report;
}

TEST(ReportTest, RoundTripsThroughJson) {
  Report report = sample();
  ASSERT_OK_AND_ASSIGN(Report parsed, Report::parse(report.serialize()));
  EXPECT_EQ(parsed, report);
}

TEST(ReportTest, FillPercentIsHundredOnlyWhenComplete) {
  RootStorage root{.backing = "network", .blocks = 1000, .present = 999};
  EXPECT_EQ(root.fill_percent(), 99);
  root.present = 1000;
  EXPECT_EQ(root.fill_percent(), 100);
  root.present = 0;
  EXPECT_EQ(root.fill_percent(), 0);
  EXPECT_EQ(RootStorage{.backing = "copy"}.fill_percent(), 100);
}

TEST(ReportTest, NullLastInputAndNoResultsRoundTrip) {
  Report report = sample();
  report.last_input.reset();
  report.results.clear();
  report.users.clear();
  ASSERT_OK_AND_ASSIGN(Report parsed, Report::parse(report.serialize()));
  EXPECT_EQ(parsed, report);
  EXPECT_NE(report.serialize().find("\"last_input\":null"), std::string::npos);
}

TEST(ReportTest, RefusesMalformedReportsWithOneSentence) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"not json", "not a JSON object"},
      {"[]", "not a JSON object"},
      {R"({"version": 2, "host": "a", "boot_id": "b", "sequence": 1, "sent_at": 1})", "version"},
      {R"({"version": 1, "boot_id": "b", "sequence": 1, "sent_at": 1})", "\"host\" is missing"},
      {R"({"version": 1, "host": "a b", "boot_id": "b", "sequence": 1, "sent_at": 1})", "host name"},
      {R"({"version": 1, "host": "a", "boot_id": "b", "sequence": 0, "sent_at": 1})", "positive"},
      {R"({"version": 1, "host": "a", "boot_id": "b", "sequence": "1", "sent_at": 1})", "integer"},
      {R"({"version": 1, "host": "a", "boot_id": "b", "sequence": 1, "sent_at": 1, "event": "x"})",
       "event"},
      {R"({"version": 1, "host": "a", "boot_id": "b", "sequence": 1, "sent_at": 1, "dirty": 1})",
       "dirty"},
      {R"({"version": 1, "host": "a", "boot_id": "b", "sequence": 1, "sent_at": 1,
           "root": {"backing": "network", "blocks": 10, "present": 11}})",
       "more blocks present"},
  };
  for (const Case& c : cases) {
    auto parsed = Report::parse(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_NE(parsed.error().message.find(c.says), std::string::npos) << parsed.error().message;
    EXPECT_EQ(parsed.error().message.find('\n'), std::string::npos);
  }
}

TEST(ReportTest, RefusesMoreThanTheReportedPathLimit) {
  Report report = sample();
  report.changes.paths.assign(kReportPathLimit + 1, {"/x", "added"});
  EXPECT_FALSE(Report::parse(report.serialize()).ok());
}

TEST(ReportTest, ResultStatusesKeepTheirWireNames) {
  Report report = sample();
  report.results = {{8, "content-diff", CommandStatus::kDone, "diff"},
                    {9, "upload-upper", CommandStatus::kUnsupported, "too old"}};
  std::string text = report.serialize();
  EXPECT_NE(text.find(R"("status":"done")"), std::string::npos);
  EXPECT_NE(text.find(R"("status":"unsupported")"), std::string::npos);
}

TEST(ReportTest, AResultStatusThatIsNoAnswerBecomesFailed) {
  // An agent answers waiting, done, failed or unsupported; anything else
  // must not keep the command open.
  for (const char* status : {"exploded", "", "pending", "cancelled", "Done"}) {
    nlohmann::ordered_json json = sample().to_json();
    json["results"][0]["status"] = status;
    ASSERT_OK_AND_ASSIGN(Report parsed, Report::parse(json.dump()));
    ASSERT_EQ(parsed.results.size(), 1u);
    EXPECT_EQ(parsed.results[0].status, CommandStatus::kFailed) << status;
    EXPECT_TRUE(parsed.results[0].final());
  }
  nlohmann::ordered_json json = sample().to_json();
  json["results"][0].erase("status");
  EXPECT_FALSE(Report::parse(json.dump()).ok());
}

TEST(CommandTest, NamesAndParsesEveryKind) {
  for (CommandKind kind :
       {CommandKind::kRebootWhenIdle, CommandKind::kContentDiff, CommandKind::kUploadUpper})
    EXPECT_EQ(parse_command_kind(command_name(kind)), kind) << command_name(kind);
  EXPECT_STREQ(command_name(CommandKind::kRebootWhenIdle), "reboot-when-idle");
  EXPECT_STREQ(command_name(CommandKind::kContentDiff), "content-diff");
  EXPECT_STREQ(command_name(CommandKind::kUploadUpper), "upload-upper");
  EXPECT_EQ(parse_command_kind("format-disk"), std::nullopt);
  EXPECT_EQ(parse_command_kind(""), std::nullopt);
  AgentCommand unknown{1, "format-disk", "", ""};
  EXPECT_EQ(unknown.kind(), std::nullopt);
  AgentCommand upload{2, "upload-upper", "", upload_path(2)};
  EXPECT_EQ(upload.kind(), CommandKind::kUploadUpper);
}

TEST(CommandTest, NamesAndParsesEveryStatus) {
  const std::pair<CommandStatus, const char*> statuses[] = {
      {CommandStatus::kPending, "pending"},
      {CommandStatus::kWaiting, "waiting"},
      {CommandStatus::kDone, "done"},
      {CommandStatus::kFailed, "failed"},
      {CommandStatus::kUnsupported, "unsupported"},
      {CommandStatus::kCancelled, "cancelled"}};
  for (const auto& [status, name] : statuses) {
    EXPECT_STREQ(command_status_name(status), name);
    EXPECT_EQ(parse_command_status(name), status) << name;
    // Every status is open or final, never both.
    EXPECT_NE(is_open(status), is_final(status)) << name;
  }
  EXPECT_EQ(parse_command_status("exploded"), std::nullopt);
  EXPECT_TRUE(is_open(CommandStatus::kPending));
  EXPECT_TRUE(is_open(CommandStatus::kWaiting));
  EXPECT_TRUE(is_final(CommandStatus::kDone));
  EXPECT_TRUE(is_final(CommandStatus::kCancelled));
}

TEST(ReportTest, ReplyCarriesCommands) {
  ReportReply reply{{{7, "reboot-when-idle", "", ""},
                     {8, "content-diff", "/etc/fstab", ""},
                     {9, "upload-upper", "", upload_path(9)}}};
  ASSERT_OK_AND_ASSIGN(ReportReply parsed, ReportReply::parse(reply.serialize()));
  EXPECT_EQ(parsed.commands, reply.commands);
  EXPECT_EQ(parsed.report_within_seconds, 0);
  EXPECT_NE(reply.serialize().find(R"("path":"/etc/fstab")"), std::string::npos);
  EXPECT_NE(reply.serialize().find(R"("url":"/api/v1/uploads/9")"), std::string::npos);
}

TEST(ReportTest, ReplyCanAskForTheNextReportSooner) {
  ReportReply reply;
  reply.report_within_seconds = 5;
  ASSERT_OK_AND_ASSIGN(ReportReply parsed, ReportReply::parse(reply.serialize()));
  EXPECT_EQ(parsed.report_within_seconds, 5);
  EXPECT_FALSE(ReportReply::parse(R"({"report_within_seconds":"soon"})").ok());
}

TEST(ReportTest, PrefetchStateRoundTripsAndIsOptional) {
  Report report = sample();
  report.prefetch = {.commit = std::string(64, 'c'), .root_hash = std::string(64, 'd'),
                     .state = "fetching", .done_bytes = 4096, .total_bytes = 8192,
                     .fetched_bytes = 100, .seeded_bytes = 3996, .error = ""};
  ASSERT_OK_AND_ASSIGN(Report parsed, Report::parse(report.serialize()));
  EXPECT_EQ(parsed, report);
  EXPECT_EQ(parsed.prefetch.percent(), 50);
  report.prefetch = {};
  EXPECT_EQ(report.serialize().find("prefetch"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(Report without, Report::parse(report.serialize()));
  EXPECT_TRUE(without.prefetch.empty());
  std::string bad = sample().serialize();
  bad.insert(bad.size() - 1, R"(,"prefetch":{"done_bytes":9,"total_bytes":8})");
  EXPECT_FALSE(Report::parse(bad).ok());
}

TEST(ReportTest, PrefetchPercentIsHundredOnlyWhenComplete) {
  PrefetchState state{.state = "fetching", .done_bytes = 8192, .total_bytes = 8192};
  EXPECT_EQ(state.percent(), 99);
  state.state = "complete";
  EXPECT_EQ(state.percent(), 100);
  EXPECT_EQ(PrefetchState{}.percent(), 0);
}

TEST(ReportTest, ReplyCarriesAPrefetchManifest) {
  ReportReply reply;
  reply.prefetch_manifest = "{\"version\": 2}\n";
  ASSERT_OK_AND_ASSIGN(ReportReply parsed, ReportReply::parse(reply.serialize()));
  EXPECT_EQ(parsed.prefetch_manifest, reply.prefetch_manifest);
  ASSERT_OK_AND_ASSIGN(ReportReply none, ReportReply::parse(ReportReply{}.serialize()));
  EXPECT_TRUE(none.prefetch_manifest.empty());
  EXPECT_FALSE(ReportReply::parse(R"({"prefetch":{"manifest":7}})").ok());
  EXPECT_EQ(prefetch_challenge("b-1", 17), "prefetch b-1 17");
}

TEST(SignatureTest, HmacMatchesRfc4231) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(SignatureTest, SecretIsCreatedOnceWithMode0600) {
  testing::TempDir dir;
  ASSERT_OK_AND_ASSIGN(std::string first, load_or_create_secret(dir / "admin.token", 32));
  ASSERT_OK_AND_ASSIGN(std::string again, load_or_create_secret(dir / "admin.token", 32));
  EXPECT_EQ(first, again);
  EXPECT_EQ(first.size(), 64u);
  EXPECT_EQ(testing::run_output("stat -c %a " + (dir / "admin.token")), "600\n");
}

}  // namespace
}  // namespace goldroot

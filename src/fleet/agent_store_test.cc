#include "fleet/agent_store.h"

#include "base/testing/testing.h"
#include "fleet/testing/engine_test.h"
#include "fleet/inventory.h"

namespace goldroot {
namespace {

using testing::TempDir;

class AgentStoreTest : public testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    if (IsSkipped()) return;
    auto opened = Inventory::open(database());
    ASSERT_OK(opened);
    inventory_.emplace(std::move(opened).value());
    ASSERT_OK(inventory_->add_lab(Lab{.name = "lab3", .channel = {}, .mode = {}, .networks = {},
                                      .notes = ""}));
    for (const char* name : {"pc01", "pc02"}) {
      Host host;
      host.name = name;
      host.macs = {std::string("52:54:00:aa:00:0") + name[3]};
      host.lab = "lab3";
      ASSERT_OK(inventory_->add_host(host));
    }
  }
  Report report(const std::string& host, const std::string& boot, int64_t sequence) {
    Report r;
    r.host = host;
    r.boot_id = boot;
    r.sequence = sequence;
    r.sent_at = kNow;
    r.uptime_seconds = 30;
    r.interval_seconds = 60;
    return r;
  }
  Result<std::vector<AgentCommand>> record(const Report& r, int64_t now = kNow) {
    return AgentStore(inventory_->database()).record(r, r.serialize(), now);
  }
  static constexpr int64_t kNow = 1'795'000'000;
  std::optional<Inventory> inventory_;
};

GOLDROOT_ENGINE_TESTS(AgentStoreTest);

TEST_P(AgentStoreTest, RefusesReplaysPerBoot) {
  ASSERT_OK(record(report("pc01", "boot-a", 10)));
  ASSERT_OK(record(report("pc01", "boot-a", 11)));
  auto replay = record(report("pc01", "boot-a", 11));
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(replay.error().message.find("replay"), std::string::npos);
  EXPECT_FALSE(record(report("pc01", "boot-a", 5)).ok());
  // Another boot starts its own sequence; the old boot stays protected.
  ASSERT_OK(record(report("pc01", "boot-b", 1)));
  EXPECT_FALSE(record(report("pc01", "boot-a", 11)).ok());
  ASSERT_OK(record(report("pc01", "boot-a", 12)));  // a late spooled report of boot a
  // Sequences are per host.
  ASSERT_OK(record(report("pc02", "boot-a", 10)));
}

TEST_P(AgentStoreTest, RefusesUnknownHostsAndForgottenOldBoots) {
  auto unknown = record(report("pc99", "boot-a", 1));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  Report old = report("pc01", "boot-old", 1);
  old.sent_at = kNow - kMaxReportAgeSeconds - 1;
  EXPECT_FALSE(record(old).ok());
}

TEST_P(AgentStoreTest, LateReportOfAnOlderBootDoesNotReplaceTheStatus) {
  ASSERT_OK(record(report("pc01", "boot-b", 1)));
  Report late = report("pc01", "boot-a", 50);
  late.sent_at = kNow - 600;
  ASSERT_OK(record(late));
  AgentStore agents(inventory_->database());
  ASSERT_OK_AND_ASSIGN(auto status, agents.status("pc01"));
  ASSERT_TRUE(status && status->report);
  EXPECT_EQ(status->report->boot_id, "boot-b");
}

TEST_P(AgentStoreTest, HistoryIsBounded) {
  for (int i = 1; i <= kHistoryPerHost + 20; ++i) ASSERT_OK(record(report("pc01", "b", i)));
  AgentStore agents(inventory_->database());
  ASSERT_OK_AND_ASSIGN(auto history, agents.history("pc01", 1000));
  EXPECT_EQ(history.size(), static_cast<size_t>(kHistoryPerHost));
  EXPECT_EQ(history.front()["sequence"], kHistoryPerHost + 20);
}

TEST_P(AgentStoreTest, CommandsStayOpenUntilAFinalResult) {
  AgentStore agents(inventory_->database());
  ASSERT_OK_AND_ASSIGN(int64_t id,
                       agents.queue_command("pc01", CommandKind::kRebootWhenIdle, "", kNow));
  ASSERT_OK_AND_ASSIGN(int64_t same,
                       agents.queue_command("pc01", CommandKind::kRebootWhenIdle, "", kNow));
  EXPECT_EQ(id, same);
  ASSERT_OK_AND_ASSIGN(auto commands, record(report("pc01", "b", 1)));
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0].command, "reboot-when-idle");
  Report waiting = report("pc01", "b", 2);
  waiting.results = {{id, "reboot-when-idle", CommandStatus::kWaiting, "1 user"}};
  ASSERT_OK_AND_ASSIGN(commands, record(waiting));
  EXPECT_EQ(commands.size(), 1u);
  Report done = report("pc01", "b", 3);
  done.results = {{id, "reboot-when-idle", CommandStatus::kDone, "rebooting"}};
  ASSERT_OK_AND_ASSIGN(commands, record(done));
  EXPECT_TRUE(commands.empty());
  ASSERT_OK_AND_ASSIGN(auto stored, agents.command(id));
  EXPECT_EQ(stored->status, CommandStatus::kDone);
}

TEST_P(AgentStoreTest, UploadRequestsCarryTheirUrlAndCanBeWithdrawn) {
  AgentStore agents(inventory_->database());
  ASSERT_OK_AND_ASSIGN(int64_t id,
                       agents.queue_command("pc01", CommandKind::kUploadUpper, "", kNow));
  ASSERT_OK_AND_ASSIGN(auto commands, record(report("pc01", "b", 1)));
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0].url, "/api/v1/uploads/" + std::to_string(id));
  ASSERT_OK_AND_ASSIGN(bool cancelled, agents.cancel_command(id, "gave up", kNow));
  EXPECT_TRUE(cancelled);
  ASSERT_OK_AND_ASSIGN(commands, record(report("pc01", "b", 2)));
  EXPECT_TRUE(commands.empty());
  // A late result does not reopen or overwrite it, and a second cancel is a no-op.
  Report late = report("pc01", "b", 3);
  late.results = {{id, "upload-upper", CommandStatus::kDone, "{}"}};
  ASSERT_OK_AND_ASSIGN(commands, record(late));
  EXPECT_TRUE(commands.empty());
  ASSERT_OK_AND_ASSIGN(auto stored, agents.command(id));
  EXPECT_EQ(stored->status, CommandStatus::kCancelled);
  EXPECT_EQ(stored->output, "gave up");
  ASSERT_OK_AND_ASSIGN(cancelled, agents.cancel_command(id, "again", kNow));
  EXPECT_FALSE(cancelled);
}

TEST_P(AgentStoreTest, ColumnsKeepTheWireNamesAndAnUnknownAnswerFails) {
  AgentStore agents(inventory_->database());
  ASSERT_OK_AND_ASSIGN(int64_t id,
                       agents.queue_command("pc01", CommandKind::kContentDiff, "/etc/fstab", kNow));
  nlohmann::ordered_json json = report("pc01", "b", 1).to_json();
  json["results"] = nlohmann::ordered_json::array(
      {{{"id", id}, {"command", "content-diff"}, {"status", "exploded"}, {"output", "?"}}});
  ASSERT_OK_AND_ASSIGN(Report parsed, Report::parse(json.dump()));
  ASSERT_OK_AND_ASSIGN(auto commands, record(parsed));
  EXPECT_TRUE(commands.empty());
  ASSERT_OK_AND_ASSIGN(
      Statement query,
      inventory_->database().prepare("SELECT command, status FROM agent_commands WHERE id = ?"));
  query.bind(id);
  ASSERT_OK_AND_ASSIGN(bool row, query.step());
  ASSERT_TRUE(row);
  EXPECT_EQ(query.text_column(0), "content-diff");
  EXPECT_EQ(query.text_column(1), "failed");
}

TEST_P(AgentStoreTest, AStatusColumnThisBuildDoesNotKnowIsOneSentence) {
  AgentStore agents(inventory_->database());
  ASSERT_OK_AND_ASSIGN(int64_t id,
                       agents.queue_command("pc01", CommandKind::kUploadUpper, "", kNow));
  ASSERT_OK_AND_ASSIGN(Statement update, inventory_->database().prepare(
                                             "UPDATE agent_commands SET status = 'exploded'"));
  ASSERT_OK(update.run());
  auto command = agents.command(id);
  ASSERT_FALSE(command.ok());
  EXPECT_EQ(command.error().code, ErrorCode::kCorruption);
  EXPECT_NE(command.error().message.find("'exploded'"), std::string::npos);
}

TEST_P(AgentStoreTest, HostStates) {
  AgentStatus status;
  EXPECT_EQ(host_state(status, kNow, 0), HostState::kDown);  // never reported
  status.report = report("pc01", "b", 1);
  status.received_at = kNow;
  EXPECT_EQ(host_state(status, kNow + 10, 0), HostState::kUp);
  EXPECT_EQ(host_state(status, kNow + 3 * 60 + 6, 0), HostState::kUnseen);
  EXPECT_EQ(host_state(status, kNow + 3 * 60 + 6, 3600), HostState::kUp);
  status.boot_requested_at = kNow + 5;
  EXPECT_EQ(host_state(status, kNow + 10, 0), HostState::kDown);  // booting again
  status.boot_requested_at.reset();
  status.report->event = "shutdown";
  EXPECT_EQ(host_state(status, kNow + 10, 0), HostState::kDown);
}

TEST_P(AgentStoreTest, SchedulesNeedAValidTimeAndLab) {
  AgentStore agents(inventory_->database());
  EXPECT_OK(agents.set_schedule("lab3", "22:00"));
  EXPECT_FALSE(agents.set_schedule("lab3", "24:00").ok());
  EXPECT_FALSE(agents.set_schedule("lab3", "2200").ok());
  EXPECT_FALSE(agents.set_schedule("nolab", "22:00").ok());
  ASSERT_OK_AND_ASSIGN(auto schedules, agents.schedules());
  ASSERT_EQ(schedules.size(), 1u);
  EXPECT_EQ(schedules[0].reset_at, "22:00");
}

}  // namespace
}  // namespace goldroot

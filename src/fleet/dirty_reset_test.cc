#include "fleet/dirty_reset.h"

#include "base/testing/testing.h"
#include "fleet/testing/engine_test.h"
#include "fleet/agent_store.h"

namespace goldroot {
namespace {

class DirtyResetTest : public testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    if (IsSkipped()) return;
    auto opened = Inventory::open(database());
    ASSERT_OK(opened);
    inventory_.emplace(std::move(opened).value());
    ASSERT_OK(inventory_->add_lab(Lab{.name = "lab3", .channel = {}, .mode = {}, .networks = {},
                                      .notes = ""}));
    add("pc01", true, BootMode::kMaintenance);
    add("pc02", false, std::nullopt);
    add("pc03", true, std::nullopt, /*report=*/false);
  }
  void add(const std::string& name, bool dirty, std::optional<BootMode> mode, bool report = true) {
    Host host;
    host.name = name;
    host.macs = {"52:54:00:aa:00:0" + name.substr(3)};
    host.lab = "lab3";
    host.mode = mode;
    ASSERT_OK(inventory_->add_host(host));
    if (!report) return;
    Report r;
    r.host = name;
    r.boot_id = "boot";
    r.sequence = 1;
    r.sent_at = kNow;
    r.dirty = dirty;
    ASSERT_OK(AgentStore(inventory_->database()).record(r, r.serialize(), kNow));
  }
  static constexpr int64_t kNow = 1'795'000'000;
  std::optional<Inventory> inventory_;
};

GOLDROOT_ENGINE_TESTS(DirtyResetTest);

TEST_P(DirtyResetTest, ResetsOnlyDirtyHostsAndRestoresTheirModeAfterTheReboot) {
  ASSERT_OK_AND_ASSIGN(auto reset, reset_dirty_hosts(*inventory_, std::string("lab3"), kNow));
  EXPECT_EQ(reset, std::vector<std::string>{"pc01"});
  auto pc01 = inventory_->find_host("pc01");
  ASSERT_OK(pc01);
  EXPECT_EQ((*pc01)->mode, BootMode::kReset);
  EXPECT_EQ(inventory_->find_host("pc02").value()->mode, std::nullopt);
  AgentStore agents(inventory_->database());
  ASSERT_OK_AND_ASSIGN(auto open, agents.open_commands("pc01"));
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].kind(), CommandKind::kRebootWhenIdle);
  // The host boots again after the request: the reboot is done, the mode restored.
  Report rebooted;
  rebooted.host = "pc01";
  rebooted.boot_id = "boot-2";
  rebooted.sequence = 1;
  rebooted.sent_at = kNow + 100;
  rebooted.uptime_seconds = 30;
  ASSERT_OK(agents.record(rebooted, rebooted.serialize(), kNow + 100));
  EXPECT_EQ(inventory_->find_host("pc01").value()->mode, BootMode::kMaintenance);
  EXPECT_TRUE(agents.open_commands("pc01")->empty());
}

TEST_P(DirtyResetTest, ServeRunsDueRequestsOnce) {
  AgentStore agents(inventory_->database());
  ASSERT_OK(agents.add_reset_request(std::nullopt, kNow - 1));
  ASSERT_OK(agents.add_reset_request(std::nullopt, kNow + 3600));
  ASSERT_OK_AND_ASSIGN(auto log, run_due_resets(*inventory_, kNow));
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("pc01"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(log, run_due_resets(*inventory_, kNow));
  EXPECT_TRUE(log.empty());
}

TEST_P(DirtyResetTest, NextLocalTimeIsWithinADay) {
  ASSERT_OK_AND_ASSIGN(int64_t at, next_local_time("22:00", kNow));
  EXPECT_GT(at, kNow);
  EXPECT_LE(at, kNow + 25 * 3600);
  EXPECT_FALSE(next_local_time("7pm", kNow).ok());
}

}  // namespace
}  // namespace goldroot

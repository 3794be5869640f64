#include "fleet/unregistered.h"

#include <cstdio>

#include "base/testing/testing.h"
#include "fleet/testing/engine_test.h"
#include "fleet/agent_store.h"
#include "fleet/host_keys.h"
#include "fleet/names.h"

namespace goldroot {
namespace {

using testing::TempDir;

class UnregisteredTest : public testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    if (IsSkipped()) return;
    auto opened = Inventory::open(database());
    ASSERT_OK(opened);
    inventory_.emplace(std::move(opened).value());
    Lab lab;
    lab.name = "lab3";
    ASSERT_OK(inventory_->add_lab(lab));
  }

  int64_t rows(const std::string& table) {
    auto count = inventory_->database().prepare("SELECT count(*) FROM " + table);
    EXPECT_OK(count);
    EXPECT_TRUE(count->step().value());
    return count->int_column(0);
  }

  std::optional<Inventory> inventory_;
};

GOLDROOT_ENGINE_TESTS(UnregisteredTest);

TEST_P(UnregisteredTest, NameComesFromTheMacAndIsAValidHostName) {
  for (const char* spelling : {"52:54:00:77:00:09", "52-54-00-77-00-09", "52:54:00:77:00:09"}) {
    auto name = unregistered_host_name(spelling);
    ASSERT_OK(name);
    EXPECT_EQ(*name, "unreg-525400770009");
    EXPECT_OK(validate_host_name(*name));
  }
  EXPECT_FALSE(unregistered_host_name("52:54:00:77:00").ok());
}

TEST_P(UnregisteredTest, AddsAnUnregisteredHostWithTheDefaultMode) {
  auto added = add_unregistered_host(*inventory_, "52-54-00-77-00-09", BootMode::kReset, 256);
  ASSERT_OK(added);
  auto found = inventory_->find_host_by_mac("52:54:00:77:00:09");
  ASSERT_OK(found);
  ASSERT_TRUE(found->has_value());
  const Host& host = **found;
  EXPECT_EQ(host.name, "unreg-525400770009");
  EXPECT_TRUE(host.unregistered);
  EXPECT_EQ(host.mode, BootMode::kReset);
  EXPECT_FALSE(host.ip);
  EXPECT_FALSE(host.lab);
  EXPECT_FALSE(host.channel);
  EXPECT_EQ(host.macs, std::vector<std::string>{"52:54:00:77:00:09"});
  EXPECT_EQ(to_json(host)["unregistered"], true);
  EXPECT_EQ(count_unregistered_hosts(*inventory_).value(), 1);
  // The same MAC again is a host already.
  EXPECT_EQ(
      add_unregistered_host(*inventory_, "52:54:00:77:00:09", BootMode::kNormal, 256).error().code,
      ErrorCode::kAlreadyExists);
}

TEST_P(UnregisteredTest, NeverTakesARegisteredHostsMacOrName) {
  Host pc;
  pc.name = "pc01";
  pc.macs = {"52:54:00:00:00:01"};
  ASSERT_OK(inventory_->add_host(pc));
  Host squatter;
  squatter.name = "unreg-525400000002";
  squatter.macs = {"52:54:00:00:00:99"};
  ASSERT_OK(inventory_->add_host(squatter));
  EXPECT_FALSE(
      add_unregistered_host(*inventory_, "52:54:00:00:00:01", BootMode::kNormal, 256).ok());
  EXPECT_FALSE(
      add_unregistered_host(*inventory_, "52:54:00:00:00:02", BootMode::kNormal, 256).ok());
  EXPECT_EQ(rows("hosts"), 2);
  EXPECT_FALSE(inventory_->find_host("pc01").value()->unregistered);
  EXPECT_EQ(inventory_->find_host("unreg-525400000002").value()->macs,
            std::vector<std::string>{"52:54:00:00:00:99"});
}

// A student with root forges MACs: the rows a flood can write are bounded,
// and registered hosts do not count against the limit.
TEST_P(UnregisteredTest, ForgedMacsBeyondTheLimitAreRefusedAndWriteNothing) {
  Host pc;
  pc.name = "pc01";
  pc.macs = {"52:54:00:00:00:01"};
  ASSERT_OK(inventory_->add_host(pc));
  constexpr int64_t kLimit = 8;
  for (int i = 0; i < 20; ++i) {
    char mac[32];
    std::snprintf(mac, sizeof mac, "02:00:00:00:01:%02x", i);
    auto added = add_unregistered_host(*inventory_, mac, BootMode::kNormal, kLimit);
    if (i < kLimit) {
      EXPECT_OK(added);
    } else {
      ASSERT_FALSE(added.ok());
      EXPECT_EQ(added.error().code, ErrorCode::kNoSpace);
      EXPECT_NE(added.error().message.find("limit"), std::string::npos);
    }
  }
  EXPECT_EQ(count_unregistered_hosts(*inventory_).value(), kLimit);
  EXPECT_EQ(rows("hosts"), kLimit + 1);
  EXPECT_EQ(rows("host_macs"), kLimit + 1);
}

// Adoption keeps the row, so everything keyed by the host's id follows it.
TEST_P(UnregisteredTest, AdoptionKeepsKeyBootHistoryAndAgentState) {
  ASSERT_OK(add_unregistered_host(*inventory_, "52:54:00:77:00:09", BootMode::kNormal, 256));
  const std::string old_name = "unreg-525400770009";
  HostKeys keys(inventory_->database());
  VerifyKey key = SigningKey::generate().value().public_key();
  KeyPresentation presented{key};
  presented.now = 100;
  ASSERT_EQ(keys.present(old_name, EnrollPolicy::kFirstUse, presented).value(),
            KeyVerdict::kAccepted);
  AgentStore agents(inventory_->database());
  ASSERT_OK(agents.record_boot_request(old_name, 100, "normal"));
  ASSERT_OK(agents.queue_command(old_name, CommandKind::kRebootWhenIdle, "", 100));

  auto owner = unregistered_host_with(*inventory_, {"52:54:00:77:00:09"});
  ASSERT_OK(owner);
  ASSERT_TRUE(owner->has_value());
  EXPECT_EQ((*owner)->name, old_name);

  Host adopted;
  adopted.name = "pc09";
  adopted.macs = {"52:54:00:77:00:09"};
  adopted.lab = "lab3";
  adopted.mode = BootMode::kMaintenance;
  ASSERT_OK(adopt_unregistered_host(*inventory_, old_name, adopted));

  EXPECT_FALSE(inventory_->find_host(old_name).value());
  auto host = inventory_->find_host("pc09").value();
  ASSERT_TRUE(host);
  EXPECT_FALSE(host->unregistered);
  EXPECT_EQ(host->lab, "lab3");
  EXPECT_EQ(host->mode, BootMode::kMaintenance);
  EXPECT_EQ(keys.enrolled("pc09").value(), key);
  auto status = agents.status("pc09").value();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->boot_requested_at, 100);
  EXPECT_EQ(status->issued_mode, "normal");
  EXPECT_EQ(agents.open_commands("pc09").value().size(), 1u);
  EXPECT_EQ(count_unregistered_hosts(*inventory_).value(), 0);
  EXPECT_EQ(rows("hosts"), 1);
  EXPECT_EQ(rows("revoked_host_keys"), 0);  // adoption revokes nothing
  // Its agent still reports under the old name until it boots again.
  EXPECT_EQ(adopter_of(*inventory_, old_name).value(), "pc09");
  EXPECT_EQ(adopter_of(*inventory_, "pc09").value(), std::nullopt);
  EXPECT_EQ(adopter_of(*inventory_, "unreg-52540077000b").value(), std::nullopt);
  EXPECT_EQ(adopter_of(*inventory_, "unreg-zz5400770009").value(), std::nullopt);

  // A registered host is not adopted again, and adoption needs the MAC.
  EXPECT_EQ(adopt_unregistered_host(*inventory_, "pc09", adopted).error().code,
            ErrorCode::kInvalidArgument);
  ASSERT_OK(add_unregistered_host(*inventory_, "52:54:00:77:00:0a", BootMode::kNormal, 256));
  Host other = adopted;
  other.name = "pc10";
  EXPECT_EQ(adopt_unregistered_host(*inventory_, "unreg-525400770010", other).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(adopt_unregistered_host(*inventory_, "unreg-52540077000a", other).error().code,
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace goldroot

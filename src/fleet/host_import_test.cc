#include "fleet/host_import.h"

#include "base/testing/testing.h"
#include "fleet/testing/engine_test.h"
#include "fleet/assignment.h"

namespace goldroot {
namespace {

using testing::TempDir;

class HostImportTest : public testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    if (IsSkipped()) return;
    ASSERT_OK(store_.create());
    auto opened = Inventory::open(database());
    ASSERT_OK(opened);
    inventory_.emplace(std::move(opened).value());
    ASSERT_OK(inventory_->add_network({"10.1.0.0/24", std::nullopt, {}, std::nullopt}));
    for (const char* name : {"lab1", "lab2"}) {
      Lab lab;
      lab.name = name;
      ASSERT_OK(inventory_->add_lab(lab));
    }
  }

  Result<std::vector<ImportChange>> run_import(const std::string& text,
                                               std::vector<LabRule> rules = {}) {
    auto records = TRY(parse_import(text, ImportFormat::kAuto, "in.conf"));
    auto transaction = TRY(inventory_->begin_write());
    auto changes = TRY(import_hosts(*inventory_, store_, records, rules, "in.conf"));
    TRY(transaction.commit());
    return changes;
  }

  PosixEnv env_;
  Store store_{&env_, dir_ / "store"};
  std::optional<Inventory> inventory_;
};

GOLDROOT_ENGINE_TESTS(HostImportTest);

TEST_P(HostImportTest, AddsThenUpdatesThenLeavesAlone) {
  const char* first =
      "dhcp-host=52:54:00:00:00:01,10.1.0.10,lab1-pc1\n"
      "dhcp-host=52:54:00:00:00:02,10.1.0.11,lab2-pc1\n";
  ASSERT_OK_AND_ASSIGN(auto added, run_import(first, {{"lab1", "lab1-*"}, {"lab2", ""}}));
  ASSERT_EQ(added.size(), 2u);
  EXPECT_EQ(added[0].kind, ImportChange::Kind::kAdd);
  EXPECT_EQ(inventory_->find_host("lab1-pc1").value()->lab, "lab1");
  EXPECT_EQ(inventory_->find_host("lab2-pc1").value()->lab, "lab2");

  const char* second =
      "dhcp-host=52:54:00:00:00:01,10.1.0.20,lab1-pc1\n"
      "dhcp-host=52:54:00:00:00:02,10.1.0.11,lab2-pc1\n";
  ASSERT_OK_AND_ASSIGN(auto changes, run_import(second));
  EXPECT_EQ(changes[0].kind, ImportChange::Kind::kUpdate);
  EXPECT_EQ(changes[0].details, std::vector<std::string>{"ip 10.1.0.10 -> 10.1.0.20"});
  EXPECT_EQ(changes[1].kind, ImportChange::Kind::kUnchanged);
  // A lab the file does not mention is kept.
  EXPECT_EQ(inventory_->find_host("lab1-pc1").value()->lab, "lab1");
}

TEST_P(HostImportTest, AnErrorOnAnyLineImportsNothing) {
  ASSERT_OK(inventory_->add_host(Host{.name = "old", .macs = {"52:54:00:00:00:09"}}));
  const char* text =
      "name,mac,lab\n"
      "pc1,52:54:00:00:00:01,lab1\n"
      "pc2,52:54:00:00:00:09,lab1\n";
  auto result = run_import(text);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "in.conf:3: MAC 52:54:00:00:00:09 already belongs to host old");
  EXPECT_FALSE(inventory_->find_host("pc1").value());
}

TEST_P(HostImportTest, UnknownLabOrChannelNamesTheLine) {
  auto lab = run_import("name,mac,lab\npc1,52:54:00:00:00:01,lab7\n");
  ASSERT_FALSE(lab.ok());
  EXPECT_EQ(lab.error().message.rfind("in.conf:2: unknown lab lab7", 0), 0u) << lab.error().message;
  auto channel = run_import("name,mac,channel\npc1,52:54:00:00:00:01,nightly\n");
  ASSERT_FALSE(channel.ok());
  EXPECT_EQ(channel.error().message.rfind("in.conf:2: unknown channel 'nightly'", 0), 0u)
      << channel.error().message;
  EXPECT_TRUE(inventory_->hosts().value().empty());
}

TEST(LabRuleTest, Parses) {
  ASSERT_OK_AND_ASSIGN(LabRule all, parse_lab_rule("lab1"));
  EXPECT_EQ(all.glob, "");
  ASSERT_OK_AND_ASSIGN(LabRule some, parse_lab_rule("lab1=lab1-*"));
  EXPECT_EQ(some.glob, "lab1-*");
  EXPECT_FALSE(parse_lab_rule("lab1=").ok());
  EXPECT_FALSE(parse_lab_rule("../x").ok());
}

}  // namespace
}  // namespace goldroot

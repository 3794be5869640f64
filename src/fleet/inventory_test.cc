#include "fleet/inventory.h"

#include "base/testing/testing.h"
#include "fleet/testing/engine_test.h"
#include "fleet/schema.h"

namespace goldroot {
namespace {

using testing::TempDir;

Host make_host(const std::string& name, const std::string& mac,
               std::optional<std::string> ip = std::nullopt,
               std::optional<std::string> lab = std::nullopt) {
  Host host;
  host.name = name;
  host.macs = {mac};
  host.ip = std::move(ip);
  host.lab = std::move(lab);
  return host;
}

class InventoryTest : public testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    if (IsSkipped()) return;
    auto opened = Inventory::open(database());
    ASSERT_OK(opened);
    inventory_.emplace(std::move(opened).value());
    auto transaction = inventory_->begin_write();
    ASSERT_OK(transaction);
    ASSERT_OK(inventory_->add_network({"10.1.0.0/24", "10.1.0.1", {"10.1.0.2"}, "lab.test"}));
    ASSERT_OK(inventory_->add_network({"10.2.0.0/24", std::nullopt, {}, std::nullopt}));
    Lab lab;
    lab.name = "lab1";
    lab.networks = {"10.1.0.0/24"};
    ASSERT_OK(inventory_->add_lab(lab));
    ASSERT_OK(transaction->commit());
  }

  std::optional<Inventory> inventory_;
};

GOLDROOT_ENGINE_TESTS(InventoryTest);

TEST_P(InventoryTest, SchemaIsMigratedWithWalAndForeignKeys) {
  if (postgresql()) {
    auto version = inventory_->database().prepare("SELECT version FROM goldroot_schema_version");
    ASSERT_OK(version);
    ASSERT_TRUE(version->step().value());
    EXPECT_EQ(version->int_column(0), current_schema_version());
    // Foreign keys hold there always: a MAC of no host is refused.
    auto orphan = inventory_->database().exec(
        "INSERT INTO host_macs (mac, host_id, position) VALUES ('52:54:00:00:00:99', 999, 0)");
    ASSERT_FALSE(orphan.ok());
    EXPECT_EQ(orphan.error().code, ErrorCode::kAlreadyExists);
    return;
  }
  auto version = inventory_->database().prepare("PRAGMA user_version");
  ASSERT_OK(version);
  ASSERT_TRUE(version->step().value());
  EXPECT_EQ(version->int_column(0), current_schema_version());
  auto journal = inventory_->database().prepare("PRAGMA journal_mode");
  ASSERT_TRUE(journal->step().value());
  EXPECT_EQ(journal->text_column(0), "wal");
  auto keys = inventory_->database().prepare("PRAGMA foreign_keys");
  ASSERT_TRUE(keys->step().value());
  EXPECT_EQ(keys->int_column(0), 1);
}

TEST_P(InventoryTest, ReopeningKeepsEverything) {
  Host host = make_host("pc1", "52:54:00:00:00:01", "10.1.0.10", "lab1");
  host.macs.push_back("52:54:00:00:00:02");
  host.vars["room"] = "B12";
  host.mode = BootMode::kCache;
  ASSERT_OK(inventory_->add_host(host));
  inventory_.reset();
  ASSERT_OK_AND_ASSIGN(Inventory reopened, Inventory::open(database()));
  ASSERT_OK_AND_ASSIGN(auto found, reopened.find_host("pc1"));
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, host);
  ASSERT_OK_AND_ASSIGN(auto by_mac, reopened.find_host_by_mac("52-54-00-00-00-02"));
  ASSERT_TRUE(by_mac);
  EXPECT_EQ(by_mac->name, "pc1");
}

TEST_P(InventoryTest, LabUefiBootIsKeptAndCleared) {
  ASSERT_OK_AND_ASSIGN(auto lab, inventory_->find_lab("lab1"));
  ASSERT_TRUE(lab);
  EXPECT_FALSE(lab->uefi);
  lab->uefi = UefiBoot::kShim;
  ASSERT_OK(inventory_->update_lab(*lab));
  ASSERT_OK_AND_ASSIGN(auto shim, inventory_->find_lab("lab1"));
  ASSERT_TRUE(shim && shim->uefi);
  EXPECT_EQ(*shim->uefi, UefiBoot::kShim);
  EXPECT_EQ(to_json(*shim)["uefi"], "shim");
  shim->uefi.reset();
  ASSERT_OK(inventory_->update_lab(*shim));
  ASSERT_OK_AND_ASSIGN(auto inherited, inventory_->find_lab("lab1"));
  EXPECT_FALSE(inherited->uefi);
  EXPECT_TRUE(to_json(*inherited)["uefi"].is_null());
}

TEST_P(InventoryTest, LabAndHostFetchAreKeptAndCleared) {
  ASSERT_OK_AND_ASSIGN(auto lab, inventory_->find_lab("lab1"));
  ASSERT_TRUE(lab);
  EXPECT_FALSE(lab->fetch);
  lab->fetch = FetchMode::kDemand;
  ASSERT_OK(inventory_->update_lab(*lab));
  ASSERT_OK_AND_ASSIGN(auto demand, inventory_->find_lab("lab1"));
  ASSERT_TRUE(demand && demand->fetch);
  EXPECT_EQ(*demand->fetch, FetchMode::kDemand);
  EXPECT_EQ(to_json(*demand)["fetch"], "demand");
  demand->fetch.reset();
  ASSERT_OK(inventory_->update_lab(*demand));
  ASSERT_OK_AND_ASSIGN(auto inherited, inventory_->find_lab("lab1"));
  EXPECT_FALSE(inherited->fetch);

  Host host = make_host("pc1", "52:54:00:00:00:01", "10.1.0.10", "lab1");
  host.fetch = FetchMode::kDemand;
  ASSERT_OK(inventory_->add_host(host));
  ASSERT_OK_AND_ASSIGN(auto added, inventory_->find_host("pc1"));
  ASSERT_TRUE(added && added->fetch);
  EXPECT_EQ(*added->fetch, FetchMode::kDemand);
  host.fetch = FetchMode::kFull;
  ASSERT_OK(inventory_->update_host("pc1", host));
  ASSERT_OK_AND_ASSIGN(auto full, inventory_->find_host("pc1"));
  ASSERT_TRUE(full && full->fetch);
  EXPECT_EQ(*full->fetch, FetchMode::kFull);
  EXPECT_EQ(to_json(*full)["fetch"], "full");
}

TEST_P(InventoryTest, LabPrefetchIsKeptAndCleared) {
  ASSERT_OK_AND_ASSIGN(auto lab, inventory_->find_lab("lab1"));
  ASSERT_TRUE(lab);
  EXPECT_FALSE(lab->prefetch);
  ASSERT_OK_AND_ASSIGN(lab->prefetch, parse_prefetch_setting("22:00-06:00"));
  ASSERT_OK(inventory_->update_lab(*lab));
  ASSERT_OK_AND_ASSIGN(auto window, inventory_->find_lab("lab1"));
  ASSERT_TRUE(window && window->prefetch);
  EXPECT_EQ(prefetch_setting_name(*window->prefetch), "22:00-06:00");
  EXPECT_EQ(to_json(*window)["prefetch"], "22:00-06:00");
  window->prefetch.reset();
  ASSERT_OK(inventory_->update_lab(*window));
  ASSERT_OK_AND_ASSIGN(auto inherited, inventory_->find_lab("lab1"));
  EXPECT_FALSE(inherited->prefetch);
  EXPECT_TRUE(to_json(*inherited)["prefetch"].is_null());
}

TEST_P(InventoryTest, NewerSchemaIsRefused) {
  inventory_.reset();
  {
    ASSERT_OK_AND_ASSIGN(Database db, Database::open(database()));
    ASSERT_OK(db.exec(postgresql() ? "UPDATE goldroot_schema_version SET version = 99"
                                   : "PRAGMA user_version = 99"));
  }
  auto opened = Inventory::open(database());
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find("newer than this goldroot"), std::string::npos);
}

TEST_P(InventoryTest, DuplicateMacNamesTheOwnerAndWritesNothing) {
  ASSERT_OK(inventory_->add_host(make_host("pc1", "52:54:00:00:00:01")));
  auto added = inventory_->add_host(make_host("pc2", "52:54:00:00:00:01"));
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().message, "MAC 52:54:00:00:00:01 already belongs to host pc1");
  ASSERT_OK_AND_ASSIGN(auto pc2, inventory_->find_host("pc2"));
  EXPECT_FALSE(pc2);
}

TEST_P(InventoryTest, DuplicateNameAndIpAreRefused) {
  ASSERT_OK(inventory_->add_host(make_host("pc1", "52:54:00:00:00:01", "10.1.0.10")));
  auto name = inventory_->add_host(make_host("pc1", "52:54:00:00:00:02"));
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.error().message, "a host named pc1 already exists");
  auto ip = inventory_->add_host(make_host("pc2", "52:54:00:00:00:03", "10.1.0.10"));
  ASSERT_FALSE(ip.ok());
  EXPECT_EQ(ip.error().message, "IP 10.1.0.10 already belongs to host pc1");
  ASSERT_OK_AND_ASSIGN(auto hosts, inventory_->hosts());
  EXPECT_EQ(hosts.size(), 1u);
}

TEST_P(InventoryTest, UnknownLabIsRefused) {
  auto added = inventory_->add_host(make_host("pc1", "52:54:00:00:00:01", std::nullopt, "lab9"));
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message.find("unknown lab lab9"), std::string::npos);
  EXPECT_FALSE(inventory_->find_host("pc1").value());
}

TEST_P(InventoryTest, IpOutsideTheLabsNetworksIsRefused) {
  auto added = inventory_->add_host(make_host("pc1", "52:54:00:00:00:01", "10.2.0.10", "lab1"));
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message.find("outside lab lab1's networks (10.1.0.0/24)"),
            std::string::npos);
}

TEST_P(InventoryTest, UpdateCanRenameAndMoveMacs) {
  ASSERT_OK(inventory_->add_host(make_host("pc1", "52:54:00:00:00:01", "10.1.0.10", "lab1")));
  Host host = inventory_->find_host("pc1").value().value();
  host.name = "pc9";
  host.macs = {"52:54:00:00:00:09", "52:54:00:00:00:01"};
  ASSERT_OK(inventory_->update_host("pc1", host));
  EXPECT_FALSE(inventory_->find_host("pc1").value());
  EXPECT_EQ(inventory_->find_host_by_mac("52:54:00:00:00:09").value()->name, "pc9");
}

TEST_P(InventoryTest, RolledBackTransactionLeavesNothing) {
  {
    ASSERT_OK_AND_ASSIGN(auto transaction, inventory_->begin_write());
    ASSERT_OK(inventory_->add_host(make_host("pc1", "52:54:00:00:00:01")));
  }  // not committed
  EXPECT_FALSE(inventory_->find_host("pc1").value());
}

TEST_P(InventoryTest, LabWithHostsAndNetworkInUseAreNotRemoved) {
  ASSERT_OK(inventory_->add_host(make_host("pc1", "52:54:00:00:00:01", "10.1.0.10", "lab1")));
  auto lab = inventory_->remove_lab("lab1");
  ASSERT_FALSE(lab.ok());
  EXPECT_NE(lab.error().message.find("lab lab1 still has 1 host(s)"), std::string::npos);
  auto network = inventory_->remove_network("10.1.0.0/24");
  ASSERT_FALSE(network.ok());
  EXPECT_NE(network.error().message.find("is used by lab lab1"), std::string::npos);
  ASSERT_OK(inventory_->remove_network("10.2.0.0/24"));
  ASSERT_OK(inventory_->remove_host("pc1"));
  ASSERT_OK(inventory_->remove_lab("lab1"));
  ASSERT_OK(inventory_->remove_network("10.1.0.0/24"));
}

TEST_P(InventoryTest, LabUnknownNetworkAndMovingOffAHostsNetworkAreRefused) {
  Lab lab;
  lab.name = "lab2";
  lab.networks = {"10.9.0.0/24"};
  auto added = inventory_->add_lab(lab);
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message.find("unknown network 10.9.0.0/24"), std::string::npos);
  ASSERT_OK(inventory_->add_host(make_host("pc1", "52:54:00:00:00:01", "10.1.0.10", "lab1")));
  Lab lab1 = inventory_->find_lab("lab1").value().value();
  lab1.networks = {"10.2.0.0/24"};
  EXPECT_FALSE(inventory_->update_lab(lab1).ok());
}

TEST_P(InventoryTest, NetworkContainingPicksTheMostSpecific) {
  ASSERT_OK(inventory_->add_network({"10.1.0.0/16", std::nullopt, {}, std::nullopt}));
  ASSERT_OK_AND_ASSIGN(auto network, inventory_->network_containing("10.1.0.77"));
  ASSERT_TRUE(network);
  EXPECT_EQ(network->cidr, "10.1.0.0/24");
  EXPECT_EQ(network->dns, std::vector<std::string>{"10.1.0.2"});
  ASSERT_OK_AND_ASSIGN(auto outside, inventory_->network_containing("192.168.0.1"));
  EXPECT_FALSE(outside);
}

TEST_P(InventoryTest, NetworkFieldsAreValidated) {
  auto gateway = inventory_->add_network({"10.3.0.0/24", "10.4.0.1", {}, std::nullopt});
  ASSERT_FALSE(gateway.ok());
  EXPECT_EQ(gateway.error().message, "gateway 10.4.0.1 is not inside network 10.3.0.0/24");
  EXPECT_FALSE(
      inventory_->add_network({"10.3.0.0/24", std::nullopt, {"8.8.8"}, std::nullopt}).ok());
  auto duplicate = inventory_->add_network({"10.1.0.0/24", std::nullopt, {}, std::nullopt});
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().message, "network 10.1.0.0/24 already exists");
}

}  // namespace
}  // namespace goldroot

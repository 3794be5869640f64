#include "fleet/host_keys.h"

#include "base/testing/testing.h"
#include "fleet/testing/engine_test.h"
#include "fleet/inventory.h"
#include "fleet/schema.h"

namespace goldroot {
namespace {

using testing::TempDir;

VerifyKey new_key() { return SigningKey::generate().value().public_key(); }

// How a host presents a key; the defaults are a persistent key from an
// ordinary (unprivileged) port.
KeyPresentation presentation(const VerifyKey& key, int64_t now = 100) {
  KeyPresentation out{key};
  out.address = "10.1.0.10";
  out.now = now;
  return out;
}

KeyPresentation ephemeral_from_privileged_port(const VerifyKey& key,
                                               bool from_inventory_ip = true) {
  KeyPresentation out = presentation(key);
  out.persistent = false;
  out.privileged_port = true;
  out.from_inventory_ip = from_inventory_ip;
  return out;
}

constexpr EnrollPolicy kPolicies[] = {EnrollPolicy::kAdmin, EnrollPolicy::kFirstUse,
                                      EnrollPolicy::kPort};

class HostKeysTest : public testing::EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    if (IsSkipped()) return;
    auto opened = Inventory::open(database());
    ASSERT_OK(opened);
    inventory_.emplace(std::move(opened).value());
    keys_.emplace(inventory_->database());
    add_host("pc1", "52:54:00:00:00:01");
    add_host("pc2", "52:54:00:00:00:02");
  }

  void add_host(const std::string& name, const std::string& mac) {
    Host host;
    host.name = name;
    host.macs = {mac};
    ASSERT_OK(inventory_->add_host(host));
  }

  // Enrols `key` for pc1 as the admin would.
  void enroll_pc1(const VerifyKey& key) { ASSERT_OK(keys_->enroll("pc1", key, std::nullopt, 50)); }

  KeyVerdict present(const std::string& host, EnrollPolicy policy, const KeyPresentation& what) {
    auto verdict = keys_->present(host, policy, what);
    EXPECT_OK(verdict);
    return verdict.ok() ? *verdict : KeyVerdict::kRefused;
  }

  HostKey row(const std::string& host) {
    auto found = keys_->find(host);
    EXPECT_OK(found);
    EXPECT_TRUE(found.ok() && found->has_value()) << host << " has no key row";
    return found.ok() && found->has_value() ? **found : HostKey{};
  }

  std::optional<VerifyKey> enrolled(const std::string& host) {
    auto key = keys_->enrolled(host);
    EXPECT_OK(key);
    return key.ok() ? *key : std::nullopt;
  }

  std::optional<Inventory> inventory_;
  std::optional<HostKeys> keys_;
};

GOLDROOT_ENGINE_TESTS(HostKeysTest);

TEST_P(HostKeysTest, NamesRoundTrip) {
  EXPECT_STREQ(key_verdict_name(KeyVerdict::kAccepted), "accepted");
  EXPECT_STREQ(key_verdict_name(KeyVerdict::kPending), "pending");
  EXPECT_STREQ(key_verdict_name(KeyVerdict::kRefused), "refused");
  EXPECT_STREQ(key_verdict_name(KeyVerdict::kRevoked), "revoked");
}

TEST_P(HostKeysTest, NoKeyYetUnderAdminWaitsForTheAdmin) {
  VerifyKey key = new_key();
  EXPECT_EQ(present("pc1", EnrollPolicy::kAdmin, presentation(key, 123)), KeyVerdict::kPending);
  EXPECT_FALSE(enrolled("pc1"));
  HostKey found = row("pc1");
  EXPECT_EQ(found.pending, key);
  EXPECT_EQ(found.pending_at, 123);
  EXPECT_EQ(found.pending_from, "10.1.0.10");
  // Presenting it again changes nothing: still waiting.
  EXPECT_EQ(present("pc1", EnrollPolicy::kAdmin, presentation(key)), KeyVerdict::kPending);
  EXPECT_FALSE(enrolled("pc1"));
}

TEST_P(HostKeysTest, NoKeyYetUnderFirstUseAndPortIsEnrolledByThePolicy) {
  for (EnrollPolicy policy : {EnrollPolicy::kFirstUse, EnrollPolicy::kPort}) {
    SCOPED_TRACE(enroll_policy_name(policy));
    ASSERT_OK(keys_->rekey("pc1", 1));
    VerifyKey key = new_key();
    KeyPresentation what = presentation(key, 77);
    what.persistent = false;
    // The port policy takes an ephemeral key only by its own path.
    what.privileged_port = what.from_inventory_ip = policy == EnrollPolicy::kPort;
    EXPECT_EQ(present("pc1", policy, what), KeyVerdict::kAccepted);
    EXPECT_EQ(enrolled("pc1"), key);
    HostKey found = row("pc1");
    EXPECT_EQ(found.enrolled_by, enroll_policy_name(policy));
    EXPECT_EQ(found.enrolled_at, 77);
    EXPECT_FALSE(found.persistent);
    EXPECT_FALSE(found.pending);
  }
}

TEST_P(HostKeysTest, TheEnrolledKeyIsAcceptedUnderEveryPolicy) {
  VerifyKey key = new_key();
  enroll_pc1(key);
  for (EnrollPolicy policy : kPolicies)
    EXPECT_EQ(present("pc1", policy, presentation(key)), KeyVerdict::kAccepted)
        << enroll_policy_name(policy);
  EXPECT_FALSE(row("pc1").refused);
}

TEST_P(HostKeysTest, AnotherKeyIsRefusedAndRecordedUnderEveryPolicy) {
  VerifyKey key = new_key();
  enroll_pc1(key);
  int64_t now = 200;
  for (EnrollPolicy policy : kPolicies) {
    SCOPED_TRACE(enroll_policy_name(policy));
    VerifyKey other = new_key();
    KeyPresentation what = presentation(other, ++now);
    what.address = "10.1.0.66";
    EXPECT_EQ(present("pc1", policy, what), KeyVerdict::kRefused);
    EXPECT_EQ(enrolled("pc1"), key);
    HostKey found = row("pc1");
    EXPECT_EQ(found.refused, other);
    EXPECT_EQ(found.refused_at, now);
    EXPECT_EQ(found.refused_from, "10.1.0.66");
    EXPECT_FALSE(found.pending);
  }
}

TEST_P(HostKeysTest, ARevokedKeyIsRevokedUnderEveryPolicyForEveryHost) {
  VerifyKey key = new_key();
  enroll_pc1(key);
  ASSERT_OK(keys_->rekey("pc1", 60));
  EXPECT_FALSE(enrolled("pc1"));
  for (EnrollPolicy policy : kPolicies) {
    SCOPED_TRACE(enroll_policy_name(policy));
    EXPECT_EQ(present("pc1", policy, presentation(key)), KeyVerdict::kRevoked);
    EXPECT_EQ(present("pc2", policy, presentation(key)), KeyVerdict::kRevoked);
    EXPECT_EQ(present("pc1", policy, ephemeral_from_privileged_port(key)), KeyVerdict::kRevoked);
  }
  EXPECT_FALSE(enrolled("pc1"));
  EXPECT_FALSE(enrolled("pc2"));
  EXPECT_FALSE(row("pc1").pending);
}

// Under the port policy a diskless host's first key is not trusted on first
// use: root on another PC could present it first.
TEST_P(HostKeysTest, PortTakesAFirstEphemeralKeyOnlyFromAPrivilegedPortAndTheInventoryIp) {
  KeyPresentation other_ip = ephemeral_from_privileged_port(new_key(), false);
  KeyPresentation unprivileged = ephemeral_from_privileged_port(new_key());
  unprivileged.privileged_port = false;
  for (const KeyPresentation& what : {other_ip, unprivileged}) {
    EXPECT_EQ(present("pc1", EnrollPolicy::kPort, what), KeyVerdict::kRefused);
    EXPECT_FALSE(enrolled("pc1"));
  }
  VerifyKey persistent = new_key();  // a host with a disk: first use
  EXPECT_EQ(present("pc1", EnrollPolicy::kPort, presentation(persistent)), KeyVerdict::kAccepted);
  EXPECT_EQ(enrolled("pc1"), persistent);
}

TEST_P(HostKeysTest, PortReplacesAnEphemeralKeyFromAPrivilegedPortAndTheInventoryIp) {
  VerifyKey first = new_key();
  ASSERT_EQ(present("pc1", EnrollPolicy::kPort, ephemeral_from_privileged_port(first)),
            KeyVerdict::kAccepted);
  VerifyKey second = new_key();
  EXPECT_EQ(present("pc1", EnrollPolicy::kPort, ephemeral_from_privileged_port(second)),
            KeyVerdict::kAccepted);
  EXPECT_EQ(enrolled("pc1"), second);
  EXPECT_EQ(row("pc1").enrolled_by, "port");
  EXPECT_FALSE(row("pc1").persistent);
}

TEST_P(HostKeysTest, PortReplacesNothingWithoutEveryCondition) {
  VerifyKey enrolled_key = new_key();
  ASSERT_EQ(present("pc1", EnrollPolicy::kPort, ephemeral_from_privileged_port(enrolled_key)),
            KeyVerdict::kAccepted);
  KeyPresentation unprivileged = ephemeral_from_privileged_port(new_key());
  unprivileged.privileged_port = false;
  KeyPresentation other_ip = ephemeral_from_privileged_port(new_key(), false);
  KeyPresentation persistent = ephemeral_from_privileged_port(new_key());
  persistent.persistent = true;
  for (const KeyPresentation& what : {unprivileged, other_ip, persistent}) {
    EXPECT_EQ(present("pc1", EnrollPolicy::kPort, what), KeyVerdict::kRefused);
    EXPECT_EQ(row("pc1").refused, what.key);
  }
  // Under the other policies even a perfect presentation replaces nothing.
  for (EnrollPolicy policy : {EnrollPolicy::kAdmin, EnrollPolicy::kFirstUse})
    EXPECT_EQ(present("pc1", policy, ephemeral_from_privileged_port(new_key())),
              KeyVerdict::kRefused);
  EXPECT_EQ(enrolled("pc1"), enrolled_key);
}

TEST_P(HostKeysTest, PortNeverReplacesAPersistentKey) {
  VerifyKey key = new_key();
  ASSERT_EQ(present("pc1", EnrollPolicy::kPort, presentation(key)), KeyVerdict::kAccepted);
  ASSERT_TRUE(row("pc1").persistent);
  EXPECT_EQ(present("pc1", EnrollPolicy::kPort, ephemeral_from_privileged_port(new_key())),
            KeyVerdict::kRefused);
  EXPECT_EQ(enrolled("pc1"), key);
}

TEST_P(HostKeysTest, AnotherHostsKeyIsRefused) {
  VerifyKey key = new_key();
  enroll_pc1(key);
  for (EnrollPolicy policy : kPolicies)
    EXPECT_EQ(present("pc2", policy, presentation(key)), KeyVerdict::kRefused);
  EXPECT_EQ(row("pc2").refused, key);
  EXPECT_FALSE(row("pc2").pending);
  auto enrolled_twice = keys_->enroll("pc2", key, std::nullopt, 70);
  ASSERT_FALSE(enrolled_twice.ok());
  EXPECT_EQ(enrolled_twice.error().message,
            "key " + key.key_id() + " is already enrolled for host pc1; a key belongs to one host");
  EXPECT_FALSE(enrolled("pc2"));
}

TEST_P(HostKeysTest, AdminEnrolsThePendingKeyWithItsId) {
  VerifyKey key = new_key();
  KeyPresentation what = presentation(key);
  what.persistent = false;
  ASSERT_EQ(present("pc1", EnrollPolicy::kAdmin, what), KeyVerdict::kPending);
  auto wrong = keys_->enroll("pc1", std::nullopt, std::string("0123456789abcdef"), 80);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(wrong.error().message, "host pc1's pending key is " + key.key_id() +
                                       ", not 0123456789abcdef; nothing was enrolled");
  EXPECT_FALSE(enrolled("pc1"));
  EXPECT_EQ(row("pc1").pending, key);

  ASSERT_OK(keys_->enroll("pc1", std::nullopt, key.key_id(), 81));
  EXPECT_EQ(enrolled("pc1"), key);
  HostKey found = row("pc1");
  EXPECT_EQ(found.enrolled_by, "admin");
  EXPECT_EQ(found.enrolled_at, 81);
  EXPECT_FALSE(found.persistent);  // as the host said when it presented it
  EXPECT_FALSE(found.pending);
  EXPECT_EQ(present("pc1", EnrollPolicy::kAdmin, presentation(key)), KeyVerdict::kAccepted);
}

TEST_P(HostKeysTest, AdminEnrolsAGivenKeyAndAWrongIdIsRefused) {
  VerifyKey key = new_key();
  auto wrong = keys_->enroll("pc1", key, std::string("ffffffffffffffff"), 80);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().message,
            "the key given is " + key.key_id() + ", not ffffffffffffffff; nothing was enrolled");
  EXPECT_FALSE(enrolled("pc1"));
  ASSERT_OK(keys_->enroll("pc1", key, key.key_id(), 80));
  EXPECT_EQ(enrolled("pc1"), key);
  EXPECT_TRUE(row("pc1").persistent);
}

TEST_P(HostKeysTest, NothingToEnrollIsOneSentence) {
  auto none = keys_->enroll("pc1", std::nullopt, std::nullopt, 80);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(none.error().message,
            "host pc1 has presented no key yet; boot it (goldroot-boot shows its key id on "
            "screen) or give its public key with --key FILE");
  auto missing = keys_->enroll("pc9", new_key(), std::nullopt, 80);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, "there is no host pc9");
  auto present_missing = keys_->present("pc9", EnrollPolicy::kFirstUse, presentation(new_key()));
  ASSERT_FALSE(present_missing.ok());
  EXPECT_EQ(present_missing.error().code, ErrorCode::kNotFound);
}

TEST_P(HostKeysTest, ARevokedKeyIsNeverEnrolledAgain) {
  VerifyKey key = new_key();
  enroll_pc1(key);
  ASSERT_OK(keys_->rekey("pc1", 60));
  for (const char* host : {"pc1", "pc2"}) {
    auto again = keys_->enroll(host, key, std::nullopt, 80);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().message, "key " + key.key_id() +
                                         " was revoked and is never enrolled again; host " + host +
                                         " must make a new one");
  }
  EXPECT_FALSE(enrolled("pc1"));
  EXPECT_FALSE(enrolled("pc2"));
}

TEST_P(HostKeysTest, RekeyRevokesAndForgetsThePendingKey) {
  VerifyKey key = new_key();
  enroll_pc1(key);
  ASSERT_OK(keys_->rekey("pc1", 60));
  EXPECT_FALSE(enrolled("pc1"));
  VerifyKey fresh = new_key();
  ASSERT_EQ(present("pc1", EnrollPolicy::kAdmin, presentation(fresh)), KeyVerdict::kPending);
  ASSERT_OK(keys_->rekey("pc1", 61));
  EXPECT_FALSE(row("pc1").pending);
  // The pending key was never trusted, so it is forgotten, not revoked.
  EXPECT_EQ(present("pc1", EnrollPolicy::kFirstUse, presentation(fresh)), KeyVerdict::kAccepted);
  // Nothing enrolled and nothing pending: nothing to do, and no error.
  ASSERT_OK(keys_->rekey("pc2", 62));
  auto missing = keys_->rekey("pc9", 62);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_P(HostKeysTest, EnrollingOverAnEnrolledKeyRevokesTheOldOne) {
  VerifyKey old_key = new_key(), new_key_ = new_key();
  enroll_pc1(old_key);
  ASSERT_OK(keys_->enroll("pc1", new_key_, std::nullopt, 90));
  EXPECT_EQ(enrolled("pc1"), new_key_);
  EXPECT_EQ(present("pc1", EnrollPolicy::kFirstUse, presentation(old_key)), KeyVerdict::kRevoked);
  // Enrolling the enrolled key again is a no-op, not a revocation.
  ASSERT_OK(keys_->enroll("pc1", new_key_, std::nullopt, 91));
  EXPECT_EQ(present("pc1", EnrollPolicy::kAdmin, presentation(new_key_)), KeyVerdict::kAccepted);
}

TEST_P(HostKeysTest, RemovingAndReAddingAHostDoesNotBringItsKeyBack) {
  VerifyKey key = new_key();
  enroll_pc1(key);
  ASSERT_OK(inventory_->remove_host("pc1"));
  add_host("pc1", "52:54:00:00:00:01");
  EXPECT_FALSE(enrolled("pc1"));
  auto found = keys_->find("pc1");
  ASSERT_OK(found);
  EXPECT_FALSE(*found);
  for (EnrollPolicy policy : kPolicies)
    EXPECT_EQ(present("pc1", policy, presentation(key)), KeyVerdict::kRevoked);
  EXPECT_FALSE(enrolled("pc1"));
}

TEST_P(HostKeysTest, AnyDeletionOfAHostRevokesItsKey) {
  // The trigger, not Inventory::remove_host, does it: plain SQL counts too.
  VerifyKey key = new_key();
  enroll_pc1(key);
  ASSERT_OK(inventory_->database().exec("DELETE FROM hosts WHERE name = 'pc1'"));
  auto revoked = inventory_->database().prepare("SELECT host FROM revoked_host_keys");
  ASSERT_OK(revoked);
  ASSERT_TRUE(revoked->step().value());
  EXPECT_EQ(revoked->text_column(0), "pc1");
  EXPECT_EQ(present("pc2", EnrollPolicy::kFirstUse, presentation(key)), KeyVerdict::kRevoked);
}

TEST_P(HostKeysTest, AllListsRowsByName) {
  add_host("pc0", "52:54:00:00:00:03");
  VerifyKey one = new_key(), two = new_key();
  ASSERT_EQ(present("pc2", EnrollPolicy::kFirstUse, presentation(one)), KeyVerdict::kAccepted);
  ASSERT_EQ(present("pc1", EnrollPolicy::kAdmin, presentation(two)), KeyVerdict::kPending);
  ASSERT_OK_AND_ASSIGN(auto all, keys_->all());
  ASSERT_EQ(all.size(), 2u);  // pc0 presented nothing: no row
  EXPECT_EQ(all[0].host, "pc1");
  EXPECT_EQ(all[0].pending, two);
  EXPECT_EQ(all[1].host, "pc2");
  EXPECT_EQ(all[1].key, one);
}

TEST_P(HostKeysTest, KeysSurviveReopening) {
  VerifyKey key = new_key();
  enroll_pc1(key);
  keys_.reset();
  inventory_.reset();
  ASSERT_OK_AND_ASSIGN(Inventory reopened, Inventory::open(database()));
  HostKeys keys(reopened.database());
  ASSERT_OK_AND_ASSIGN(auto found, keys.enrolled("pc1"));
  EXPECT_EQ(found, key);
}

// An inventory made before host keys (schema version 2) is upgraded in
// place: its hosts and labs stay, labs inherit the site's policy, and keys
// work, including the revocation on removal.
class HostKeysMigrationTest : public testing::EngineTest {};
GOLDROOT_ENGINE_TESTS(HostKeysMigrationTest);

TEST_P(HostKeysMigrationTest, AVersionTwoInventoryIsUpgraded) {
  {
    ASSERT_OK_AND_ASSIGN(Database db, Database::open(database()));
    ASSERT_OK(migrate_to(db, 2));
    ASSERT_OK(db.exec(
        "INSERT INTO labs (id, name, mode) VALUES (1, 'lab1', 'reset');"
        "INSERT INTO hosts (id, name, lab_id) VALUES (1, 'pc1', 1);"
        "INSERT INTO host_macs (mac, host_id, position) VALUES ('52:54:00:00:00:01', 1, 0);"));
  }
  ASSERT_OK_AND_ASSIGN(Inventory inventory, Inventory::open(database()));
  ASSERT_OK_AND_ASSIGN(auto lab, inventory.find_lab("lab1"));
  ASSERT_TRUE(lab);
  EXPECT_EQ(lab->mode, BootMode::kReset);
  EXPECT_FALSE(lab->enroll);
  lab->enroll = EnrollPolicy::kFirstUse;
  ASSERT_OK(inventory.update_lab(*lab));
  EXPECT_EQ(inventory.find_lab("lab1").value()->enroll, EnrollPolicy::kFirstUse);
  ASSERT_OK_AND_ASSIGN(auto host, inventory.find_host("pc1"));
  ASSERT_TRUE(host);
  EXPECT_EQ(host->macs, std::vector<std::string>{"52:54:00:00:00:01"});

  HostKeys keys(inventory.database());
  VerifyKey key = new_key();
  ASSERT_OK_AND_ASSIGN(KeyVerdict verdict,
                       keys.present("pc1", EnrollPolicy::kFirstUse, presentation(key)));
  EXPECT_EQ(verdict, KeyVerdict::kAccepted);
  ASSERT_OK(inventory.remove_host("pc1"));
  Host again;
  again.name = "pc1";
  again.macs = {"52:54:00:00:00:01"};
  ASSERT_OK(inventory.add_host(again));
  ASSERT_OK_AND_ASSIGN(verdict, keys.present("pc1", EnrollPolicy::kFirstUse, presentation(key)));
  EXPECT_EQ(verdict, KeyVerdict::kRevoked);
}

}  // namespace
}  // namespace goldroot

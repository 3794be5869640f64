#include "fleet/assignment.h"

#include "base/testing/testing.h"
#include "fleet/channel.h"

namespace goldroot {
namespace {

using testing::TempDir;

class AssignmentTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(store_.create()); }

  Status set(Host& host, const std::string& text) {
    auto assignments = TRY(parse_assignments({text}));
    return apply(host, assignments[0], store_);
  }

  TempDir dir_;
  PosixEnv env_;
  Store store_{&env_, dir_ / "store"};
};

TEST_F(AssignmentTest, HostKeys) {
  Host host{.name = "pc1", .macs = {"52:54:00:00:00:01"}};
  ASSERT_OK(set(host, "mac=52-54-00-00-00-AA, 52:54:00:00:00:bb"));
  EXPECT_EQ(host.macs, (std::vector<std::string>{"52:54:00:00:00:aa", "52:54:00:00:00:bb"}));
  ASSERT_OK(set(host, "mode=reset"));
  EXPECT_EQ(host.mode, BootMode::kReset);
  ASSERT_OK(set(host, "mode="));
  EXPECT_FALSE(host.mode);
  ASSERT_OK(set(host, "var.room=B 12"));
  EXPECT_EQ(host.vars.at("room"), "B 12");
  ASSERT_OK(set(host, "var.room="));
  EXPECT_TRUE(host.vars.empty());
  ASSERT_OK(set(host, "channel=test"));
  EXPECT_EQ(host.channel, "test");
  ASSERT_OK(set(host, "ip=10.0.0.1"));
  EXPECT_EQ(host.ip, "10.0.0.1");
}

TEST_F(AssignmentTest, BadValuesAreRefused) {
  Host host{.name = "pc1", .macs = {"52:54:00:00:00:01"}};
  Host before = host;
  EXPECT_FALSE(set(host, "ip=10.0.0.256").ok());
  EXPECT_FALSE(set(host, "mac=").ok());
  EXPECT_FALSE(set(host, "mode=party").ok());
  EXPECT_FALSE(set(host, "name=../etc").ok());
  EXPECT_FALSE(set(host, "var.bad-name=x").ok());
  auto unknown = set(host, "colour=red");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("unknown host setting 'colour'"), std::string::npos);
  EXPECT_FALSE(parse_assignments({"noequals"}).ok());
  EXPECT_EQ(host, before);
}

TEST_F(AssignmentTest, ChannelsMustExist) {
  Host host{.name = "pc1", .macs = {"52:54:00:00:00:01"}};
  auto unknown = set(host, "channel=canary");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "unknown channel 'canary'; channels are gold, previous, test");
  Digest commit;
  commit.bytes[0] = 1;
  ASSERT_OK(store_.refs().write(RefKind::kChannel, "canary", commit));
  ASSERT_OK(set(host, "channel=canary"));
  EXPECT_EQ(host.channel, "canary");
}

TEST_F(AssignmentTest, PinMustResolveAndReplacesTheChannel) {
  Host host{.name = "pc1", .macs = {"52:54:00:00:00:01"}, .channel = "test"};
  auto missing = set(host, "pin=nosuchimage");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no image, channel or commit matches"), std::string::npos);
  Transaction transaction(&store_.objects());
  ASSERT_OK(transaction.begin());
  ASSERT_OK_AND_ASSIGN(Digest root, transaction.add_bytes(ObjectType::kTree, Tree{}.serialize()));
  Commit made;
  made.root = root;
  made.name = "web";
  ASSERT_OK_AND_ASSIGN(Digest commit, transaction.add_bytes(ObjectType::kCommit, made.serialize()));
  ASSERT_OK(transaction.commit());
  ASSERT_OK(store_.refs().write(RefKind::kImage, "web", commit));
  ASSERT_OK(set(host, "pin=web"));
  EXPECT_EQ(host.pinned_commit, commit.hex());
  EXPECT_FALSE(host.channel);
}

TEST_F(AssignmentTest, LabKeys) {
  Lab lab{.name = "lab1"};
  ASSERT_OK(apply(lab, {"networks", "10.2.0.0/24, 10.1.0.0/24,10.2.0.0/24"}, store_));
  EXPECT_EQ(lab.networks, (std::vector<std::string>{"10.1.0.0/24", "10.2.0.0/24"}));
  EXPECT_FALSE(apply(lab, {"networks", "10.1.0.1/24"}, store_).ok());
  EXPECT_FALSE(apply(lab, {"channel", "nope"}, store_).ok());
  ASSERT_OK(apply(lab, {"mode", "maintenance"}, store_));
  EXPECT_EQ(lab.mode, BootMode::kMaintenance);
}

}  // namespace
}  // namespace goldroot

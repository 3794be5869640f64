// The channel lifecycle: promote, rollback and set move channels as one
// journal transaction each, refuse bad input with one sentence, and — cut
// off by a simulated crash at every durable-state operation — leave either
// the old channels or the new ones, with history that matches.
#include "image/channel_ops.h"

#include "base/testing/testing.h"
#include "image/export.h"
#include "image/import.h"
#include "sys/fault_injection_env.h"

namespace goldroot {
namespace {

using testing::run;
using testing::TempDir;
using testing::write_file;

// A store with two imported commits, v1 and v2, both exported as erofs, and
// v3 imported but not exported.
class ChannelOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_dir_ = temp_ / "store";
    exports_ = temp_ / "exports";
    Store store(&posix_, store_dir_);
    ASSERT_OK(store.create());
    v1_ = import_version(store, "one", /*export=*/true);
    v2_ = import_version(store, "two", /*export=*/true);
    v3_ = import_version(store, "three", /*export=*/false);
  }

  Digest import_version(Store& store, const std::string& content, bool exported) {
    std::string source = temp_ / ("src-" + content);
    write_file(source + "/etc/version", content);
    auto imported = import_directory(store, source, {"img-" + content, content});
    EXPECT_OK(imported);
    Digest commit = imported->commit;
    if (exported)
      EXPECT_OK(export_commit(store, exports_, temp_ / "staging", commit, ExportFormat::kErofs));
    return commit;
  }

  std::map<std::string, Digest> channels(Store& store) {
    ChannelJournal journal(&posix_, &store.refs(), store.dir());
    auto view = journal.view();
    EXPECT_OK(view);
    return *view;
  }

  TempDir temp_{"/dev/shm"};
  PosixEnv posix_;
  std::string store_dir_, exports_;
  Digest v1_, v2_, v3_;
};

TEST_F(ChannelOpsTest, PromoteMovesGoldToPreviousInOneTransaction) {
  Store store(&posix_, store_dir_);
  ASSERT_OK(set_channel(store, "test", v1_, "alice"));
  ASSERT_OK(promote(store, exports_, "test", "gold", "alice"));
  EXPECT_EQ(channels(store).at("gold"), v1_);
  EXPECT_EQ(channels(store).count("previous"), 0u);  // nothing was on gold

  ASSERT_OK(set_channel(store, "test", v2_, "bob"));
  ASSERT_OK_AND_ASSIGN(ChannelEntry entry, promote(store, exports_, "test", "gold", "bob"));
  auto now = channels(store);
  EXPECT_EQ(now.at("gold"), v2_);
  EXPECT_EQ(now.at("previous"), v1_);
  EXPECT_EQ(now.at("test"), v2_);
  ASSERT_EQ(entry.moves.size(), 2u);
  EXPECT_EQ(entry.user, "bob");
  EXPECT_EQ(entry.reason, "promote test -> gold");
  // The refs themselves moved, not only the journal's view.
  ASSERT_OK_AND_ASSIGN(auto gold_ref, store.refs().read(RefKind::kChannel, "gold"));
  EXPECT_EQ(gold_ref, v2_);

  ChannelJournal journal(&posix_, &store.refs(), store.dir());
  ASSERT_OK_AND_ASSIGN(auto entries, journal.entries());
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[3].sequence, 4u);
  EXPECT_EQ(entries[3].moves[0].channel, "previous");
  EXPECT_FALSE(entries[3].moves[0].from.has_value());
  EXPECT_EQ(entries[3].moves[0].to, v1_);
  EXPECT_EQ(entries[3].moves[1].from, v1_);
}

TEST_F(ChannelOpsTest, PromoteRefusesBadInputWithoutMovingAnything) {
  Store store(&posix_, store_dir_);
  auto expect_refused = [&](const Result<ChannelEntry>& result, const std::string& words) {
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find(words), std::string::npos) << result.error().message;
    EXPECT_EQ(result.error().message.find('\n'), std::string::npos);
  };
  expect_refused(promote(store, exports_, "test", "gold", "a"), "channel 'test' is not set");
  expect_refused(promote(store, exports_, "tset", "gold", "a"), "unknown channel 'tset'");
  expect_refused(promote(store, exports_, "test", "../gold", "a"), "channel name '../gold'");
  ASSERT_OK(set_channel(store, "test", v3_, "a"));
  expect_refused(promote(store, exports_, "test", "gold", "a"),
                 "has no erofs export; run goldroot image export " + v3_.hex());
  ASSERT_OK(set_channel(store, "test", v1_, "a"));
  ASSERT_OK(promote(store, exports_, "test", "gold", "a"));
  expect_refused(promote(store, exports_, "test", "gold", "a"), "already has");
  expect_refused(set_channel(store, "test", v1_, "a"), "already points at");

  ChannelJournal journal(&posix_, &store.refs(), store.dir());
  ASSERT_OK_AND_ASSIGN(auto entries, journal.entries());
  EXPECT_EQ(entries.size(), 3u);  // the two sets and the one promote
}

TEST_F(ChannelOpsTest, SecondRollbackUndoesTheFirst) {
  Store store(&posix_, store_dir_);
  auto refused = rollback(store, "gold", "a");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "channel 'gold' is not set; nothing to roll back");

  ASSERT_OK(set_channel(store, "test", v1_, "a"));
  ASSERT_OK(promote(store, exports_, "test", "gold", "a"));
  refused = rollback(store, "gold", "a");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message,
            "gold has no previous commit to roll back to (channel 'previous' is not set)");

  ASSERT_OK(set_channel(store, "test", v2_, "a"));
  ASSERT_OK(promote(store, exports_, "test", "gold", "a"));
  ASSERT_OK(rollback(store, "gold", "a"));
  EXPECT_EQ(channels(store).at("gold"), v1_);
  EXPECT_EQ(channels(store).at("previous"), v2_);
  ASSERT_OK(rollback(store, "gold", "a"));
  EXPECT_EQ(channels(store).at("gold"), v2_);
  EXPECT_EQ(channels(store).at("previous"), v1_);

  // Other channels go back through their own history.
  ASSERT_OK(rollback(store, "test", "a"));
  EXPECT_EQ(channels(store).at("test"), v1_);
  ASSERT_OK(rollback(store, "test", "a"));
  EXPECT_EQ(channels(store).at("test"), v2_);
  EXPECT_FALSE(rollback(store, "previous", "a").ok());
}

TEST_F(ChannelOpsTest, ViewAndRecoverRollALaggingRefForward) {
  Store store(&posix_, store_dir_);
  ASSERT_OK(set_channel(store, "gold", v1_, "a"));
  ASSERT_OK(set_channel(store, "gold", v2_, "a"));
  // As if the process died after the journal's commit point, before the ref.
  ASSERT_OK(store.refs().write(RefKind::kChannel, "gold", v1_));
  EXPECT_EQ(channels(store).at("gold"), v2_);
  ChannelJournal journal(&posix_, &store.refs(), store.dir());
  ASSERT_OK(journal.recover());
  ASSERT_OK_AND_ASSIGN(auto gold, store.refs().read(RefKind::kChannel, "gold"));
  EXPECT_EQ(gold, v2_);
}

TEST_F(ChannelOpsTest, CorruptJournalIsOneSentence) {
  Store store(&posix_, store_dir_);
  ASSERT_OK(set_channel(store, "gold", v1_, "a"));
  write_file(store.dir() + "/channel-journal", "{\"sequence\": 1}\nnot json\n");
  ChannelJournal journal(&posix_, &store.refs(), store.dir());
  auto entries = journal.entries();
  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.error().message, store.dir() + "/channel-journal line 1 is corrupt");
  EXPECT_FALSE(promote(store, exports_, "test", "gold", "a").ok());
}

class PromoteCrashTest : public ChannelOpsTest,
                         public ::testing::WithParamInterface<FaultInjectionEnv::Entries> {};

TEST_P(PromoteCrashTest, EveryCrashPointLeavesOldOrNewChannelsWithMatchingHistory) {
  {
    Store store(&posix_, store_dir_);
    ASSERT_OK(set_channel(store, "test", v1_, "a"));
    ASSERT_OK(promote(store, exports_, "test", "gold", "a"));
    ASSERT_OK(set_channel(store, "test", v2_, "a"));
  }
  std::string baseline = temp_ / "baseline";
  ASSERT_EQ(run("cp -a " + store_dir_ + " " + baseline), 0);

  int64_t total = 0;
  {
    FaultInjectionEnv fault(&posix_);
    Store store(&fault, store_dir_);
    ASSERT_OK(promote(store, exports_, "test", "gold", "a"));
    total = fault.operation_count();
  }
  ASSERT_GT(total, 4);

  int saw_old = 0, saw_new = 0;
  for (int64_t crash_point = 0; crash_point <= total; ++crash_point) {
    SCOPED_TRACE("crash after " + std::to_string(crash_point) + " of " + std::to_string(total));
    ASSERT_EQ(run("rm -rf " + store_dir_ + " && cp -a " + baseline + " " + store_dir_), 0);
    {
      FaultInjectionEnv fault(&posix_);
      Store store(&fault, store_dir_);
      fault.crash_after(crash_point);
      (void)promote(store, exports_, "test", "gold", "a");
      ASSERT_OK(fault.drop_unsynced_data(GetParam()));
    }
    Store store(&posix_, store_dir_);
    store.clean_tmp();
    ChannelJournal journal(&posix_, &store.refs(), store.dir());
    auto before_recovery = channels(store);
    // Store::resolve, as the boot server uses it, agrees before recovery.
    ASSERT_OK_AND_ASSIGN(Digest gold_resolved, store.resolve("gold"));
    EXPECT_EQ(gold_resolved, before_recovery.at("gold"));
    ASSERT_OK(journal.recover());
    // Readers saw before recovery what the refs hold after it.
    EXPECT_EQ(before_recovery, channels(store));
    ASSERT_OK_AND_ASSIGN(auto refs, store.refs().list(RefKind::kChannel));
    EXPECT_EQ(refs, before_recovery);
    ASSERT_OK_AND_ASSIGN(auto entries, journal.entries());
    if (entries.size() == 3) {
      ++saw_old;
      EXPECT_EQ(refs.at("gold"), v1_);
      EXPECT_EQ(refs.count("previous"), 0u);
      EXPECT_EQ(refs.at("test"), v2_);
    } else {
      ++saw_new;
      ASSERT_EQ(entries.size(), 4u);
      EXPECT_EQ(entries.back().reason, "promote test -> gold");
      EXPECT_EQ(refs.at("gold"), v2_);
      EXPECT_EQ(refs.at("previous"), v1_);
    }
    // Whatever survived, the next promote works from it.
    if (entries.size() == 3) ASSERT_OK(promote(store, exports_, "test", "gold", "a"));
  }
  EXPECT_GT(saw_old, 0);
  EXPECT_GT(saw_new, 0);
}

INSTANTIATE_TEST_SUITE_P(Entries, PromoteCrashTest,
                         ::testing::Values(FaultInjectionEnv::Entries::kDrop,
                                           FaultInjectionEnv::Entries::kKeep));

}  // namespace
}  // namespace goldroot

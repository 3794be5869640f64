// ChannelJournal: channel moves (set, promote, rollback) with their history,
// atomic and crash-safe.
//
// The history is one file, SITE/store/channel-journal: JSON lines, one per
// transaction, each naming who, when, why, and every channel it moved from
// what to what. A promote is one transaction of two moves (gold -> previous,
// test's commit -> gold).
//
// Commit protocol (write-ahead, roll forward):
//   1. recover(): make the channel refs agree with the last transaction.
//   2. check each move's `from` against the channel's current commit.
//   3. replace the journal by its old text plus the new line
//      (Env::write_file_atomic: temp, fsync, rename, fsync dir). The rename is
//      the commit point: before it nothing changed, after it the move happened.
//   4. write each channel ref (refs/channels/NAME, atomically each).
// A crash between 3 and 4 leaves refs lagging behind the journal's last
// line; the next writer's recover() rolls them forward, and readers use
// view(), which applies the last line over the refs (Store::resolve does, so
// the boot server and every REF argument see channels as the journal says). So a crash never leaves
// a ref moved without history (refs move only after their line is durable),
// nor history for a move that did not happen (the move is rolled forward).
//
// Why a journal and not all channels in one file: every reader of refs
// (Store::resolve, gc roots, the boot server) keeps reading
// refs/channels/NAME unchanged. Rewriting the whole journal per move is
// O(history), fine for moves an admin makes by hand.
//
// Not thread-safe; the site lock (exclusive for move/recover) serializes.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/hash.h"
#include "base/result.h"
#include "store/refs.h"
#include "sys/env.h"

namespace goldroot {

// The built-in channels: hosts and labs may follow them, and `channel set`
// accepts them, before anything was ever moved to them. The one list of them
// (fleet/channel and image/channel_ops both read it).
inline constexpr std::array<const char*, 3> kBuiltinChannels = {"test", "gold", "previous"};

struct ChannelMove {
  std::string channel;
  std::optional<Digest> from;  // nullopt: the channel was not set
  Digest to;
};

struct ChannelEntry {
  uint64_t sequence = 0;
  int64_t time = 0;  // seconds since the epoch
  std::string user;
  std::string reason;  // "set", "promote", "rollback"
  std::vector<ChannelMove> moves;
};

// view() for readers holding only a const Refs (Store::resolve).
Result<std::map<std::string, Digest>> channel_view(Env* env, const Refs& refs,
                                                   const std::string& store_dir);

// One channel's commit as channel_view() sees it; nullopt when unset.
Result<std::optional<Digest>> read_channel(Env* env, const Refs& refs, const std::string& store_dir,
                                           const std::string& name);

class ChannelJournal {
 public:
  ChannelJournal(Env* env, Refs* refs, const std::string& store_dir);

  // Every transaction, oldest first.
  Result<std::vector<ChannelEntry>> entries() const;
  // Every channel and its commit, with the last transaction applied (what
  // the refs hold once recovered).
  Result<std::map<std::string, Digest>> view() const;
  // Rolls the refs forward to the last transaction. Needs the exclusive lock.
  Status recover();
  // Commits `moves` as one transaction (see the protocol above). Each
  // move's `from` must be the channel's current commit.
  Result<ChannelEntry> move(std::vector<ChannelMove> moves, const std::string& reason,
                            const std::string& user);

  const std::string& path() const { return path_; }

 private:
  Env* env_;
  Refs* refs_;
  std::string store_dir_;
  std::string path_;
};

}  // namespace goldroot

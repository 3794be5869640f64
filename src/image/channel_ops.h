// The channel lifecycle over a Store: set, promote and rollback, each one
// ChannelJournal transaction (atomic, crash-safe, recorded with who and why).
//
// promote FROM -> TO: TO takes FROM's commit, and the commit TO held moves
// to `previous` in the same transaction. The commit must have an erofs
// export (what clients boot).
// rollback CHANNEL: for `gold`, gold <- previous and previous <- the
// rolled-back commit, so a second rollback undoes the first. Any other
// channel goes back to the commit it held before its last move (again
// a second rollback undoes the first).
//
// The caller holds the site lock exclusively. Errors are one sentence.
#pragma once

#include <string>

#include "store/channel_journal.h"
#include "store/store.h"

namespace goldroot {

// The channels every site has, known even before they are set.
bool is_default_channel(const std::string& name);

// `reason` is what channel history shows for the move.
Result<ChannelEntry> set_channel(Store& store, const std::string& name, const Digest& commit,
                                 const std::string& user, const std::string& reason = "set");

Result<ChannelEntry> promote(Store& store, const std::string& exports_dir, const std::string& from,
                             const std::string& to, const std::string& user);

Result<ChannelEntry> rollback(Store& store, const std::string& channel, const std::string& user);

}  // namespace goldroot

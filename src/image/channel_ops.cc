#include "image/channel_ops.h"

#include <algorithm>

#include "image/export.h"

namespace goldroot {

namespace {

Status check_known(const std::map<std::string, Digest>& channels, const std::string& name) {
  TRY(validate_ref_name(name, "channel"));
  if (channels.count(name) || is_default_channel(name)) return {};
  std::string known = "test, gold, previous";
  for (const auto& [other, commit] : channels)
    if (!is_default_channel(other)) known += ", " + other;
  return make_error(ErrorCode::kNotFound,
                    "unknown channel '" + name + "' (channels: " + known + ")");
}

std::optional<Digest> lookup(const std::map<std::string, Digest>& channels,
                             const std::string& name) {
  auto it = channels.find(name);
  if (it == channels.end()) return std::nullopt;
  return it->second;
}

// History may name a commit gc has since removed (older than its window).
Status check_present(const Store& store, const Digest& commit) {
  if (store.objects().has(ObjectType::kCommit, commit)) return {};
  return make_error(ErrorCode::kNotFound,
                    "cannot roll back to " + commit.hex() + ": gc has removed it");
}

}  // namespace

bool is_default_channel(const std::string& name) {
  return std::find(kBuiltinChannels.begin(), kBuiltinChannels.end(), name) !=
         kBuiltinChannels.end();
}

Result<ChannelEntry> set_channel(Store& store, const std::string& name, const Digest& commit,
                                 const std::string& user, const std::string& reason) {
  TRY(validate_ref_name(name, "channel"));
  ChannelJournal journal(store.env(), &store.refs(), store.dir());
  TRY(journal.recover());
  auto channels = TRY(journal.view());
  auto old = lookup(channels, name);
  if (old == commit)
    return make_error(ErrorCode::kAlreadyExists,
                      "channel '" + name + "' already points at " + commit.hex());
  return journal.move({{name, old, commit}}, reason, user);
}

Result<ChannelEntry> promote(Store& store, const std::string& exports_dir, const std::string& from,
                             const std::string& to, const std::string& user) {
  ChannelJournal journal(store.env(), &store.refs(), store.dir());
  TRY(journal.recover());
  auto channels = TRY(journal.view());
  TRY(check_known(channels, from));
  TRY(check_known(channels, to));
  if (from == to || to == "previous" || from == "previous")
    return make_error(ErrorCode::kInvalidArgument,
                      "promote moves one channel into another, and neither may be 'previous'");
  auto commit = lookup(channels, from);
  if (!commit)
    return make_error(
        ErrorCode::kNotFound,
        "channel '" + from + "' is not set; run goldroot channel set " + from + " REF first");
  auto old = lookup(channels, to);
  if (old == commit)
    return make_error(ErrorCode::kAlreadyExists,
                      "'" + to + "' already has " + commit->hex() + "; nothing to promote");
  auto artifact = TRY(cached_artifact(exports_dir, *commit, ExportFormat::kErofs));
  if (!artifact)
    return make_error(ErrorCode::kNotFound, "commit " + commit->hex() +
                                                " has no erofs export; run goldroot image export " +
                                                commit->hex() + " first");
  std::vector<ChannelMove> moves;
  if (old) moves.push_back({"previous", lookup(channels, "previous"), *old});
  moves.push_back({to, old, *commit});
  return journal.move(std::move(moves), "promote " + from + " -> " + to, user);
}

Result<ChannelEntry> rollback(Store& store, const std::string& channel, const std::string& user) {
  ChannelJournal journal(store.env(), &store.refs(), store.dir());
  TRY(journal.recover());
  auto channels = TRY(journal.view());
  TRY(check_known(channels, channel));
  if (channel == "previous")
    return make_error(ErrorCode::kInvalidArgument,
                      "'previous' cannot be rolled back; roll back 'gold' instead");
  auto current = lookup(channels, channel);
  if (!current)
    return make_error(ErrorCode::kNotFound,
                      "channel '" + channel + "' is not set; nothing to roll back");
  if (channel == "gold") {
    auto previous = lookup(channels, "previous");
    if (!previous)
      return make_error(
          ErrorCode::kNotFound,
          "gold has no previous commit to roll back to (channel 'previous' is not set)");
    if (previous == current)
      return make_error(ErrorCode::kAlreadyExists,
                        "gold and previous both hold " + current->hex() + "; nothing to roll back");
    TRY(check_present(store, *previous));
    return journal.move({{"gold", current, *previous}, {"previous", previous, *current}},
                        "rollback", user);
  }
  auto entries = TRY(journal.entries());
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    for (const ChannelMove& move : it->moves) {
      if (move.channel != channel) continue;
      if (!move.from)
        return make_error(ErrorCode::kNotFound,
                          "channel '" + channel + "' has no previous commit to roll back to");
      TRY(check_present(store, *move.from));
      return journal.move({{channel, current, *move.from}}, "rollback", user);
    }
  }
  return make_error(ErrorCode::kNotFound,
                    "channel '" + channel + "' has no previous commit to roll back to");
}

}  // namespace goldroot

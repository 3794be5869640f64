#include "store/channel_journal.h"

#include <nlohmann/json.hpp>

#include "base/strings.h"

namespace goldroot {

namespace {

nlohmann::json to_json(const ChannelEntry& entry) {
  nlohmann::json moves = nlohmann::json::array();
  for (const ChannelMove& move : entry.moves) {
    moves.push_back({{"channel", move.channel},
                     {"from", move.from ? nlohmann::json(move.from->hex()) : nlohmann::json()},
                     {"to", move.to.hex()}});
  }
  return {{"sequence", entry.sequence},
          {"time", entry.time},
          {"user", entry.user},
          {"reason", entry.reason},
          {"moves", moves}};
}

Result<ChannelEntry> from_json(const std::string& line, const std::string& where) {
  auto corrupt = [&]() { return make_error(ErrorCode::kCorruption, where + " is corrupt"); };
  auto json = nlohmann::json::parse(line, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return corrupt();
  ChannelEntry entry;
  try {
    entry.sequence = json.at("sequence").get<uint64_t>();
    entry.time = json.at("time").get<int64_t>();
    entry.user = json.at("user").get<std::string>();
    entry.reason = json.at("reason").get<std::string>();
    for (const auto& item : json.at("moves")) {
      ChannelMove move;
      move.channel = item.at("channel").get<std::string>();
      if (!item.at("from").is_null()) {
        auto from = Digest::from_hex(item.at("from").get<std::string>());
        if (!from) return corrupt();
        move.from = *from;
      }
      auto to = Digest::from_hex(item.at("to").get<std::string>());
      if (!to) return corrupt();
      move.to = *to;
      entry.moves.push_back(std::move(move));
    }
  } catch (const nlohmann::json::exception&) {
    return corrupt();
  }
  return entry;
}

}  // namespace

ChannelJournal::ChannelJournal(Env* env, Refs* refs, const std::string& store_dir)
    : env_(env), refs_(refs), store_dir_(store_dir), path_(store_dir + "/channel-journal") {}

Result<std::vector<ChannelEntry>> ChannelJournal::entries() const {
  std::vector<ChannelEntry> entries;
  auto text = env_->read_file(path_);
  if (!text.ok()) {
    if (text.error().code == ErrorCode::kNotFound) return entries;
    return std::move(text).error();
  }
  int number = 0;
  for (const std::string& line : split(*text, '\n')) {
    ++number;
    if (trim(line).empty()) continue;
    entries.push_back(TRY(from_json(line, path_ + " line " + std::to_string(number))));
  }
  return entries;
}

Result<std::map<std::string, Digest>> ChannelJournal::view() const {
  return channel_view(env_, *refs_, store_dir_);
}

Result<std::map<std::string, Digest>> channel_view(Env* env, const Refs& refs,
                                                   const std::string& store_dir) {
  auto channels = TRY(refs.list(RefKind::kChannel));
  // entries() only reads; a journal over a const Refs is safe here.
  ChannelJournal journal(env, const_cast<Refs*>(&refs), store_dir);
  auto all = TRY(journal.entries());
  if (!all.empty()) {
    for (const ChannelMove& move : all.back().moves) channels[move.channel] = move.to;
  }
  return channels;
}

Result<std::optional<Digest>> read_channel(Env* env, const Refs& refs, const std::string& store_dir,
                                           const std::string& name) {
  auto channels = TRY(channel_view(env, refs, store_dir));
  auto it = channels.find(name);
  if (it == channels.end()) return std::optional<Digest>();
  return std::optional<Digest>(it->second);
}

Status ChannelJournal::recover() {
  auto all = TRY(entries());
  if (all.empty()) return {};
  for (const ChannelMove& move : all.back().moves) {
    auto now = TRY(refs_->read(RefKind::kChannel, move.channel));
    if (now != move.to) TRY(refs_->write(RefKind::kChannel, move.channel, move.to));
  }
  return {};
}

Result<ChannelEntry> ChannelJournal::move(std::vector<ChannelMove> moves, const std::string& reason,
                                          const std::string& user) {
  TRY(recover());
  for (const ChannelMove& move : moves) {
    TRY(validate_ref_name(move.channel, "channel"));
    auto now = TRY(refs_->read(RefKind::kChannel, move.channel));
    if (now != move.from)
      return make_error(ErrorCode::kAlreadyExists,
                        "channel '" + move.channel + "' moved while this command ran; try again");
  }
  auto all = TRY(entries());
  ChannelEntry entry;
  entry.sequence = all.empty() ? 1 : all.back().sequence + 1;
  entry.time = env_->now_seconds();
  entry.user = user;
  entry.reason = reason;
  entry.moves = std::move(moves);

  std::string text;
  auto old = env_->read_file(path_);
  if (old.ok()) {
    text = std::move(*old);
    if (!text.empty() && text.back() != '\n') text += '\n';
  } else if (old.error().code != ErrorCode::kNotFound) {
    return std::move(old).error();
  }
  text += to_json(entry).dump() + "\n";
  // The commit point: from here on the move happened.
  TRY(env_->write_file_atomic(path_, text));
  for (const ChannelMove& move : entry.moves)
    TRY(refs_->write(RefKind::kChannel, move.channel, move.to));
  return entry;
}

}  // namespace goldroot

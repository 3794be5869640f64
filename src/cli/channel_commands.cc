// `goldroot channel …`, `goldroot promote` and `goldroot rollback`: named
// pointers to commits that hosts follow (test, gold, previous, or any other
// name), moved through the ChannelJournal so every move is atomic and
// recorded (image/channel_ops.h, store/channel_journal.h).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "base/strings.h"
#include "cli/command.h"
#include "image/channel_ops.h"

namespace goldroot::cli {

namespace {

std::string short_hex(const std::optional<Digest>& commit) {
  return commit ? commit->hex().substr(0, 12) : std::string("(unset)");
}

void print_entry(const ChannelEntry& entry) {
  for (const ChannelMove& move : entry.moves)
    std::printf("%-10s %s -> %s\n", move.channel.c_str(), short_hex(move.from).c_str(),
                move.to.hex().c_str());
}

Result<int> channel_list(Context& context, const Args& args) {
  CLI::App app{"List channels and the commits they point at.", "goldroot channel list"};
  bool json = false;
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kShared, "channel list"));
  ChannelJournal journal(context.env, &site->store().refs(), site->store_dir());
  auto channels = TRY(journal.view());
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [name, commit] : channels)
      out.push_back({{"name", name}, {"commit", commit.hex()}});
    print_json(out);
    return 0;
  }
  for (const auto& [name, commit] : channels)
    std::printf("%-12s %s\n", name.c_str(), commit.hex().c_str());
  return 0;
}

Result<int> channel_set(Context& context, const Args& args) {
  CLI::App app{"Point a channel at a commit.", "goldroot channel set"};
  std::string name, ref;
  app.add_option("NAME", name, "channel name (test, gold, …)")->required();
  app.add_option("REF", ref, "image name, commit id or prefix, NAME~N")->required();
  if (auto exit = parse_args(app, args)) return *exit;
  TRY(validate_ref_name(name, "channel"));
  auto site = TRY(context.open_site(LockMode::kExclusive, "channel set " + name));
  Digest commit = TRY(site->store().resolve(ref));
  // Idempotent for scripts: no move, no history entry.
  Store& store = site->store();
  if (TRY(read_channel(context.env, store.refs(), store.dir(), name)) == commit) {
    std::printf("%s already points at %s\n", name.c_str(), commit.hex().c_str());
    return 0;
  }
  print_entry(TRY(set_channel(store, name, commit, current_user())));
  return 0;
}

Result<int> channel_history(Context& context, const Args& args) {
  CLI::App app{"Show who moved a channel, when, and from what to what.",
               "goldroot channel history"};
  std::string name;
  bool json = false;
  app.add_option("NAME", name, "channel name")->required();
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  TRY(validate_ref_name(name, "channel"));
  auto site = TRY(context.open_site(LockMode::kShared, "channel history " + name));
  ChannelJournal journal(context.env, &site->store().refs(), site->store_dir());
  auto entries = TRY(journal.entries());
  auto channels = TRY(journal.view());
  nlohmann::json out = nlohmann::json::array();
  bool any = false;
  for (const ChannelEntry& entry : entries) {
    for (const ChannelMove& move : entry.moves) {
      if (move.channel != name) continue;
      any = true;
      if (json) {
        out.push_back({{"sequence", entry.sequence},
                       {"time", format_utc(entry.time, "%Y-%m-%dT%H:%M:%SZ")},
                       {"user", entry.user},
                       {"reason", entry.reason},
                       {"from", move.from ? nlohmann::json(move.from->hex()) : nlohmann::json()},
                       {"to", move.to.hex()}});
      } else {
        std::printf("#%-4llu %s  %-10s %-22s %s -> %s\n",
                    static_cast<unsigned long long>(entry.sequence), format_utc(entry.time, "%Y-%m-%dT%H:%M:%SZ").c_str(),
                    entry.user.c_str(), entry.reason.c_str(), short_hex(move.from).c_str(),
                    short_hex(move.to).c_str());
      }
    }
  }
  if (!any && !channels.count(name) && !is_default_channel(name))
    return make_error(ErrorCode::kNotFound, "unknown channel '" + name + "'");
  if (json) print_json(out);
  return 0;
}

const Command kChannelCommands[] = {
    {"list", "list channels", channel_list},
    {"set", "point a channel at a commit", channel_set},
    {"history", "who moved a channel, when, from what to what", channel_history},
};

}  // namespace

Result<int> run_channel(Context& context, const Args& args) {
  return dispatch(context, kChannelCommands, args, "goldroot channel");
}

Result<int> run_promote(Context& context, const Args& args) {
  CLI::App app{
      "Move a channel's commit into another (test into gold); the commit gold held "
      "moves to previous in the same atomic step.",
      "goldroot promote"};
  std::string from = "test", to = "gold";
  app.add_option("--from", from, "channel to promote (default test)");
  app.add_option("--to", to, "channel to move (default gold)");
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kExclusive, "promote " + from + " -> " + to));
  print_entry(TRY(promote(site->store(), site->exports_dir(), from, to, current_user())));
  return 0;
}

Result<int> run_rollback(Context& context, const Args& args) {
  CLI::App app{
      "Move a channel back to the commit it held before (gold: swap with previous; "
      "a second rollback undoes the first).",
      "goldroot rollback"};
  std::string channel = "gold";
  app.add_option("CHANNEL", channel, "channel to roll back (default gold)");
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kExclusive, "rollback " + channel));
  print_entry(TRY(rollback(site->store(), channel, current_user())));
  return 0;
}

}  // namespace goldroot::cli

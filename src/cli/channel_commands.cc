// `goldroot channel …`: named pointers to commits that hosts follow
// (test, gold, previous, or any other name).
#include <cstdio>

#include "cli/command.h"
#include "image/export.h"

namespace goldroot::cli {

namespace {

Result<int> channel_list(Context& context, const Args& args) {
  CLI::App app{"List channels and the commits they point at.", "goldroot channel list"};
  bool json = false;
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kShared, "channel list"));
  auto channels = TRY(site->store().refs().list(RefKind::kChannel));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [name, commit] : channels) out.push_back({{"name", name}, {"commit", commit.hex()}});
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
  TRY(site->store().refs().write(RefKind::kChannel, name, commit));
  std::printf("%s -> %s\n", name.c_str(), commit.hex().c_str());
  return 0;
}

const Command kChannelCommands[] = {
    {"list", "list channels", channel_list},
    {"set", "point a channel at a commit", channel_set},
};

}  // namespace

Result<int> run_channel(Context& context, const Args& args) {
  return dispatch(context, kChannelCommands, args, "goldroot channel");
}

}  // namespace goldroot::cli

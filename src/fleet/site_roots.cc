#include "fleet/site_roots.h"

#include "base/strings.h"
#include "fleet/agent_store.h"
#include "fleet/effective.h"
#include "store/channel_journal.h"

namespace goldroot {

namespace {

Result<std::map<std::string, Lab>> labs_by_name(Inventory& inventory) {
  std::map<std::string, Lab> labs;
  for (Lab& lab : TRY(inventory.labs())) labs[lab.name] = lab;
  return labs;
}

const Lab* lab_of(const std::map<std::string, Lab>& labs, const Host& host) {
  if (!host.lab) return nullptr;
  auto it = labs.find(*host.lab);
  return it == labs.end() ? nullptr : &it->second;
}

}  // namespace

Result<std::vector<CommitUser>> hosts_assigned(Inventory& inventory,
                                               const std::map<std::string, Digest>& channels,
                                               const Digest& commit) {
  auto labs = TRY(labs_by_name(inventory));
  std::vector<CommitUser> users;
  for (const Host& host : TRY(inventory.hosts())) {
    EffectiveChannel effective = effective_channel(host, lab_of(labs, host));
    std::string source = setting_source_name(effective.source);
    if (effective.pinned_commit) {
      auto pinned = Digest::from_hex(*effective.pinned_commit);
      if (pinned && *pinned == commit) users.push_back({host.name, "pin (" + source + ")"});
    } else if (effective.channel) {
      auto it = channels.find(*effective.channel);
      if (it != channels.end() && it->second == commit)
        users.push_back({host.name, "channel " + *effective.channel + " (" + source + ")"});
    }
  }
  return users;
}

namespace {

// Each host's running commit, from the last report that was not a shutdown.
Result<std::vector<std::pair<CommitUser, Digest>>> running(Inventory& inventory) {
  std::vector<std::pair<CommitUser, Digest>> out;
  AgentStore agents(inventory.database());
  for (const AgentStatus& status : TRY(agents.statuses(std::nullopt))) {
    if (!status.report || status.report->event == "shutdown") continue;
    auto commit = Digest::from_hex(status.report->commit);
    if (!commit) continue;
    out.push_back({{status.host, "running, reported " + format_utc(status.received_at, "%Y-%m-%d %H:%M UTC")},
                   *commit});
  }
  return out;
}

}  // namespace

Result<std::vector<CommitUser>> hosts_running(Inventory& inventory, const Digest& commit) {
  std::vector<CommitUser> users;
  for (auto& [user, running_commit] : TRY(running(inventory)))
    if (running_commit == commit) users.push_back(std::move(user));
  return users;
}

Result<std::map<Digest, std::vector<std::string>>> site_roots(Store& store, Inventory& inventory,
                                                              int64_t history_since) {
  std::map<Digest, std::vector<std::string>> roots;
  auto labs = TRY(labs_by_name(inventory));
  for (const Host& host : TRY(inventory.hosts())) {
    EffectiveChannel effective = effective_channel(host, lab_of(labs, host));
    if (!effective.pinned_commit) continue;
    if (auto pinned = Digest::from_hex(*effective.pinned_commit))
      roots[*pinned].push_back("pin host " + host.name);
  }
  for (const auto& [user, commit] : TRY(running(inventory)))
    roots[commit].push_back("running on " + user.host);
  ChannelJournal journal(store.env(), &store.refs(), store.dir());
  for (const ChannelEntry& entry : TRY(journal.entries())) {
    if (entry.time < history_since) continue;
    std::string name = "channel history #" + std::to_string(entry.sequence);
    for (const ChannelMove& move : entry.moves) {
      if (move.from) roots[*move.from].push_back(name);
      roots[move.to].push_back(name);
    }
  }
  // A crash may leave a ref lagging behind the journal: keep both.
  for (const auto& [name, commit] : TRY(journal.view())) roots[commit].push_back("channel " + name);
  return roots;
}

}  // namespace goldroot

#include "fleet/fleet_status.h"

#include <map>

#include "base/strings.h"
#include "fleet/effective.h"
#include "fleet/host_keys.h"
#include "store/channel_journal.h"

namespace goldroot {


Result<nlohmann::json> fleet_status(Site& site, Inventory& inventory,
                                    const std::optional<std::string>& lab, int64_t now,
                                    int64_t unseen_after) {
  if (lab && !TRY(inventory.find_lab(*lab)))
    return make_error(ErrorCode::kNotFound, "there is no lab " + *lab);
  AgentStore agents(inventory.database());
  std::vector<AgentStatus> statuses = TRY(agents.statuses(lab));
  std::map<std::string, Host> hosts;
  for (Host& host : TRY(inventory.hosts(lab))) hosts.emplace(host.name, std::move(host));
  std::map<std::string, Lab> labs;
  for (Lab& one : TRY(inventory.labs())) labs.emplace(one.name, std::move(one));
  std::map<std::string, HostKey> keys;
  for (HostKey& row : TRY(HostKeys(inventory.database()).all())) {
    std::string name = row.host;
    keys.emplace(std::move(name), std::move(row));
  }
  std::map<std::string, std::optional<Digest>> channel_commits;
  Store& store = site.store();

  nlohmann::json out = nlohmann::json::array();
  for (const AgentStatus& status : statuses) {
    auto found = hosts.find(status.host);
    if (found == hosts.end()) continue;
    const Host& host = found->second;
    const Lab* host_lab = nullptr;
    if (host.lab) {
      auto lab_found = labs.find(*host.lab);
      if (lab_found != labs.end()) host_lab = &lab_found->second;
    }
    EffectiveChannel channel = effective_channel(host, host_lab);
    std::optional<std::string> target;
    if (channel.pinned_commit) {
      target = *channel.pinned_commit;
    } else if (channel.channel) {
      auto cached = channel_commits.find(*channel.channel);
      if (cached == channel_commits.end()) {
        auto commit = read_channel(store.env(), store.refs(), store.dir(), *channel.channel);
        cached = channel_commits
                     .emplace(*channel.channel, commit.ok() ? *commit : std::optional<Digest>())
                     .first;
      }
      if (cached->second) target = cached->second->hex();
    }
    nlohmann::json item = {{"name", host.name},
                           {"lab", host.lab ? nlohmann::json(*host.lab) : nlohmann::json()},
                           {"unregistered", host.unregistered},
                           {"state", host_state_name(host_state(status, now, unseen_after))},
                           {"channel", channel.channel ? nlohmann::json(*channel.channel)
                                                       : nlohmann::json()},
                           {"pin", channel.pinned_commit.has_value()},
                           {"next_mode", boot_mode_name(effective_mode(host, host_lab).mode)},
                           {"alert", status.alert ? nlohmann::json(*status.alert) : nlohmann::json()}};
    const std::optional<Report>& report = status.report;
    auto or_null = [&](auto value) {
      return report ? nlohmann::json(value) : nlohmann::json();
    };
    item["commit"] = report && !report->commit.empty() ? nlohmann::json(report->commit)
                                                       : nlohmann::json();
    item["current"] = report && !report->commit.empty() && target
                          ? nlohmann::json(report->commit == *target)
                          : nlohmann::json();
    item["mode"] = report && !report->mode.empty() ? nlohmann::json(report->mode) : nlohmann::json();
    item["dirty"] = or_null(report ? report->dirty : false);
    item["changes"] = or_null(report ? report->changes.total : 0);
    item["last_seen"] = report ? nlohmann::json(format_utc(status.received_at, "%Y-%m-%dT%H:%M:%SZ"))
                               : nlohmann::json();
    item["last_seen_unix"] = or_null(status.received_at);
    item["uptime_seconds"] = or_null(report ? report->uptime_seconds : 0);
    nlohmann::json users = nlohmann::json::array();
    if (report)
      for (const UserSession& user : report->users) users.push_back(user.user + "@" + user.line);
    item["users"] = users;
    item["last_input"] = report && report->last_input ? nlohmann::json(*report->last_input)
                                                      : nlohmann::json();
    item["upper"] = report ? nlohmann::json{{"kind", report->upper_kind},
                                            {"used_bytes", report->upper_used_bytes},
                                            {"total_bytes", report->upper_total_bytes}}
                           : nlohmann::json();
    item["root"] = report && !report->root.backing.empty()
                       ? nlohmann::json{{"backing", report->root.backing},
                                        {"fill_percent", report->root.fill_percent()},
                                        {"fetched_bytes", report->root.fetched_bytes},
                                        {"seeded_bytes", report->root.seeded_bytes},
                                        {"verify_failures", report->root.verify_failures},
                                        {"error", report->root.error}}
                       : nlohmann::json();
    item["prefetch"] = nlohmann::json();
    if (report && !report->prefetch.empty()) {
      const PrefetchState& prefetch = report->prefetch;
      item["prefetch"] = {{"commit", prefetch.commit},
                          {"current", target && prefetch.commit == *target},
                          {"state", prefetch.state},
                          {"percent", prefetch.percent()},
                          {"done_bytes", prefetch.done_bytes},
                          {"total_bytes", prefetch.total_bytes},
                          {"fetched_bytes", prefetch.fetched_bytes},
                          {"seeded_bytes", prefetch.seeded_bytes},
                          {"error", prefetch.error}};
    }
    nlohmann::json pending = nlohmann::json::array();
    for (const StoredCommand& command : TRY(agents.open_commands(host.name)))
      pending.push_back(command.command);
    item["pending_commands"] = pending;
    auto key = keys.find(host.name);
    item["key"] = to_json(key == keys.end() ? nullptr : &key->second);
    out.push_back(std::move(item));
  }
  return out;
}

Result<nlohmann::json> host_changes(Inventory& inventory, const std::string& host) {
  AgentStore agents(inventory.database());
  auto status = TRY(agents.status(host));
  if (!status) return make_error(ErrorCode::kNotFound, "there is no host " + host);
  if (!status->report)
    return make_error(ErrorCode::kNotFound, "host " + host + " has not reported yet");
  const Report& report = *status->report;
  nlohmann::json out = nlohmann::json::parse(report.to_json()["changes"].dump());
  auto history = TRY(agents.history(host, 20));  // not inside the braces: see report.cc
  return nlohmann::json{{"host", host},
                        {"boot_id", report.boot_id},
                        {"commit", report.commit},
                        {"sent_at", report.sent_at},
                        {"received_at", status->received_at},
                        {"dirty", report.dirty},
                        {"changes", out},
                        {"history", std::move(history)}};
}

}  // namespace goldroot

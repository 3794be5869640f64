#include "cli/agent_commands.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "base/strings.h"
#include "fleet/dirty_reset.h"
#include "fleet/fleet_status.h"
#include "bootserver/report_service.h"
#include "cli/fleet_session.h"
#include "fleet/agent_store.h"
#include "store/tree.h"

namespace goldroot::cli {

namespace {

std::string text_or(const nlohmann::json& value, const std::string& fallback) {
  return value.is_string() ? value.get<std::string>() : fallback;
}

std::string age(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 120) return std::to_string(seconds) + "s ago";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m ago";
  if (seconds < 172800) return std::to_string(seconds / 3600) + "h ago";
  return std::to_string(seconds / 86400) + "d ago";
}

}  // namespace

Result<int> run_status(Context& context, const Args& args) {
  CLI::App app{"Show every host's state as its agent reported it: up, down (booting, shut "
               "down, or never reported) or unseen (silent too long); its image version and "
               "whether that is its channel's current one; its boot mode; and whether it "
               "changed anything beyond the ignore list.",
               "goldroot status"};
  std::string lab;
  bool json = false;
  int64_t unseen_after = 0;
  app.add_option("--lab", lab, "only this lab's hosts");
  app.add_flag("--json", json, "print a JSON list");
  app.add_option("--unseen-after", unseen_after,
                 "seconds of silence before a host is unseen (default: 3 reporting intervals)");
  if (auto exit = parse_args(app, args)) return *exit;
  auto fleet = TRY(open_fleet(context, LockMode::kShared, "status"));
  auto transaction = TRY(fleet.inventory.begin_read());
  int64_t now = context.env->now_seconds();
  std::optional<std::string> lab_filter;
  if (!lab.empty()) lab_filter = lab;
  nlohmann::json status = TRY(fleet_status(*fleet.site, fleet.inventory, lab_filter, now, unseen_after));
  if (json) {
    print_json(status);
    return 0;
  }
  std::printf("%-18s %-12s %-7s %-18s %-14s %-12s %-14s %-10s %s\n", "HOST", "LAB", "STATE",
              "IMAGE", "MODE", "ROOT", "CHANGES", "LAST SEEN", "PREFETCH");
  for (const nlohmann::json& host : status) {
    std::string image = "-";
    if (host["commit"].is_string()) {
      image = host["commit"].get<std::string>().substr(0, 12);
      if (host["current"].is_boolean()) image += host["current"].get<bool>() ? "" : " (old)";
    }
    std::string mode = text_or(host["mode"], "-");
    if (host["mode"].is_string() && host["next_mode"] != host["mode"])
      mode += "->" + host["next_mode"].get<std::string>();
    std::string changes = "-";
    if (host["dirty"].is_boolean())
      changes = host["dirty"].get<bool>() ? "dirty " + std::to_string(host["changes"].get<int64_t>())
                                          : "clean";
    // Where its image is read from: "network 43%" while blockd fetches it.
    std::string root = "-";
    if (host["root"].is_object()) {
      root = text_or(host["root"]["backing"], "?");
      if (root == "network") root += " " + std::to_string(host["root"]["fill_percent"].get<int>()) + "%";
      if (host["root"]["verify_failures"].get<uint64_t>() > 0) root += " BAD";
    }
    // The next image, fetched ahead: "3f2a9c01d2e4 43%", "… paused 43%",
    // "… failed"; "(old)" when its channel has moved on again.
    std::string prefetch = "-";
    if (host["prefetch"].is_object()) {
      const nlohmann::json& next = host["prefetch"];
      std::string commit = text_or(next["commit"], "").substr(0, 12);
      std::string state = text_or(next["state"], "");
      std::string percent = std::to_string(next["percent"].get<int>()) + "%";
      prefetch = commit.empty() ? state : commit + " ";
      if (!commit.empty())
        prefetch += state == "failed" || state == "refused" ? state
                    : state == "paused"                     ? "paused " + percent
                                                            : percent;
      if (!commit.empty() && !next["current"].get<bool>()) prefetch += " (old)";
    }
    std::string seen = host["last_seen_unix"].is_number()
                           ? age(now - host["last_seen_unix"].get<int64_t>())
                           : "never";
    // The mode is what the host reported: never raw to the admin's terminal.
    // An unregistered host has no lab: the column says what it is.
    std::string lab = host["unregistered"].get<bool>() ? "unregistered" : text_or(host["lab"], "-");
    std::printf("%-18s %-12s %-7s %-18s %-14s %-12s %-14s %-10s %s\n",
                printable(host["name"].get<std::string>()).c_str(), printable(lab).c_str(),
                printable(host["state"].get<std::string>()).c_str(), image.c_str(),
                printable(mode).c_str(), printable(root).c_str(), changes.c_str(), seen.c_str(),
                printable(prefetch).c_str());
  }
  // What the admin must look at: a host that booted around its manifest.
  for (const nlohmann::json& host : status)
    if (host["alert"].is_string())
      std::printf("!! %s %s\n", printable(host["name"].get<std::string>()).c_str(),
                  printable(host["alert"].get<std::string>()).c_str());
  return 0;
}

Result<int> host_changes_command(Context& context, const std::string& host, bool json,
                                 const std::string& content, int wait_seconds) {
  if (!content.empty()) {
    if (content[0] != '/')
      return make_error(ErrorCode::kInvalidArgument, "--content wants an absolute path, not " + content);
    int64_t id;
    std::string database;
    {
      auto fleet = TRY(open_fleet(context, LockMode::kShared, "changes --host"));
      database = fleet.site->database();
      auto transaction = TRY(fleet.inventory.begin_write());
      AgentStore agents(fleet.inventory.database());
      id = TRY(agents.queue_command(host, CommandKind::kContentDiff, content,
                                    context.env->now_seconds()));
      TRY(transaction.commit());
    }
    // Wait without the site lock, which admin commands need meanwhile;
    // SQLite keeps the reads consistent.
    Inventory inventory = TRY(Inventory::open(database));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
    while (true) {
      std::optional<StoredCommand> command;
      {
        auto transaction = TRY(inventory.begin_read());
        AgentStore agents(inventory.database());
        command = TRY(agents.command(id));
      }
      if (command && command->status == CommandStatus::kDone) {
        std::string diff = printable(command->output, KeepLines::kYes);
        std::fwrite(diff.data(), 1, diff.size(), stdout);
        return 0;
      }
      if (command && (command->status == CommandStatus::kFailed ||
                      command->status == CommandStatus::kUnsupported))
        return make_error(ErrorCode::kIo, "host " + host + "'s agent could not diff " + content +
                                              ": " + command->output);
      if (std::chrono::steady_clock::now() >= deadline)
        return make_error(ErrorCode::kBusy,
                          "host " + host + "'s agent has not answered within " +
                              std::to_string(wait_seconds) + " s (it picks up requests when it "
                              "reports); request " + std::to_string(id) + " stays queued");
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  }
  auto fleet = TRY(open_fleet(context, LockMode::kShared, "changes --host"));
  auto transaction = TRY(fleet.inventory.begin_read());
  nlohmann::json changes = TRY(goldroot::host_changes(fleet.inventory, host));
  if (json) {
    print_json(changes);
    return 0;
  }
  const nlohmann::json& set = changes["changes"];
  std::printf("%s: %s, %llu changes (%llu ignored), reported %s UTC\n", host.c_str(),
              changes["dirty"].get<bool>() ? "dirty" : "clean",
              static_cast<unsigned long long>(set["total"].get<uint64_t>()),
              static_cast<unsigned long long>(set["ignored"].get<uint64_t>()),
              format_utc(changes["sent_at"].get<int64_t>()).c_str());
  if (set.contains("error")) std::printf("error reading changes: %s\n", printable(text_or(set["error"], "")).c_str());
  for (const nlohmann::json& change : set["paths"])
    std::printf("%-12s %s\n", printable(change["change"].get<std::string>()).c_str(),
                escape_path(change["path"].get<std::string>()).c_str());
  if (set["truncated"].get<bool>())
    std::printf("… only the first %zu paths are reported\n", kReportPathLimit);
  return 0;
}

Result<int> reset_dirty_command(Context& context, const std::optional<std::string>& lab,
                                const std::string& at) {
  auto fleet = TRY(open_fleet(context, LockMode::kExclusive, "reset --dirty"));
  auto transaction = TRY(fleet.inventory.begin_write());
  int64_t now = context.env->now_seconds();
  if (!at.empty()) {
    if (lab && !TRY(fleet.inventory.find_lab(*lab)))
      return make_error(ErrorCode::kNotFound, "there is no lab " + *lab);
    int64_t run_at = TRY(next_local_time(at, now));
    AgentStore agents(fleet.inventory.database());
    TRY(agents.add_reset_request(lab, run_at));
    TRY(transaction.commit());
    std::printf("goldroot serve will reset the dirty hosts%s at %s\n",
                lab ? (" of lab " + *lab).c_str() : "", at.c_str());
    return 0;
  }
  std::vector<std::string> hosts = TRY(reset_dirty_hosts(fleet.inventory, lab, now));
  TRY(transaction.commit());
  if (hosts.empty()) {
    std::printf("no dirty hosts%s\n", lab ? (" in lab " + *lab).c_str() : "");
    return 0;
  }
  std::printf("next boot resets %zu dirty host(s); each reboots once no user is logged in: %s\n",
              hosts.size(), join(hosts, ", ").c_str());
  return 0;
}

}  // namespace goldroot::cli

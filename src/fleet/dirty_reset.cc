#include "fleet/dirty_reset.h"

#include <ctime>

#include "base/strings.h"
#include "fleet/agent_store.h"

namespace goldroot {

Result<std::vector<std::string>> reset_dirty_hosts(Inventory& inventory,
                                                   const std::optional<std::string>& lab,
                                                   int64_t now) {
  if (lab && !TRY(inventory.find_lab(*lab)))
    return make_error(ErrorCode::kNotFound, "there is no lab " + *lab);
  AgentStore agents(inventory.database());
  std::vector<std::string> reset;
  for (const AgentStatus& status : TRY(agents.statuses(lab))) {
    if (!status.report || !status.report->dirty) continue;
    auto host = TRY(inventory.find_host(status.host));
    if (!host) continue;
    if (host->mode != BootMode::kReset) {
      std::optional<std::string> previous;
      if (host->mode) previous = boot_mode_name(*host->mode);
      TRY(agents.set_pending_reset(host->name, previous, now));
      std::string old_name = host->name;
      host->mode = BootMode::kReset;
      TRY(inventory.update_host(old_name, *host));
    }
    TRY(agents.queue_command(host->name, CommandKind::kRebootWhenIdle, "", now));
    reset.push_back(host->name);
  }
  return reset;
}

Result<int64_t> next_local_time(const std::string& hh_mm, int64_t now) {
  TRY(validate_time_of_day(hh_mm));
  time_t seconds = static_cast<time_t>(now);
  struct tm local;
  ::localtime_r(&seconds, &local);
  local.tm_hour = std::stoi(hh_mm.substr(0, 2));
  local.tm_min = std::stoi(hh_mm.substr(3, 2));
  local.tm_sec = 0;
  local.tm_isdst = -1;
  time_t at = ::mktime(&local);
  if (at <= seconds) {
    local.tm_mday += 1;
    local.tm_isdst = -1;
    at = ::mktime(&local);
  }
  return static_cast<int64_t>(at);
}

Result<std::vector<std::string>> run_due_resets(Inventory& inventory, int64_t now) {
  AgentStore agents(inventory.database());
  std::vector<std::string> log;
  auto describe = [](const std::optional<std::string>& lab, const std::vector<std::string>& hosts) {
    return "reset --dirty" + (lab ? " --lab " + *lab : std::string()) + ": " +
           (hosts.empty() ? std::string("no dirty hosts") : join(hosts, ", "));
  };
  for (const auto& [id, lab] : TRY(agents.due_reset_requests(now))) {
    auto hosts = reset_dirty_hosts(inventory, lab, now);
    log.push_back(hosts.ok() ? describe(lab, *hosts) : hosts.error().message);
    TRY(agents.finish_reset_request(id));
  }
  time_t seconds = static_cast<time_t>(now);
  struct tm local;
  ::localtime_r(&seconds, &local);
  char today[16];
  std::strftime(today, sizeof today, "%Y-%m-%d", &local);
  int minutes_now = local.tm_hour * 60 + local.tm_min;
  for (const LabSchedule& schedule : TRY(agents.schedules())) {
    int minutes = std::stoi(schedule.reset_at.substr(0, 2)) * 60 + std::stoi(schedule.reset_at.substr(3, 2));
    if (schedule.last_run == today || minutes_now < minutes || minutes_now >= minutes + 60) continue;
    auto hosts = reset_dirty_hosts(inventory, schedule.lab, now);
    log.push_back("schedule " + schedule.reset_at + " of lab " + schedule.lab + ": " +
                  (hosts.ok() ? describe(schedule.lab, *hosts) : hosts.error().message));
    TRY(agents.mark_schedule_run(schedule.lab, today));
  }
  return log;
}

}  // namespace goldroot

#include "fleet/agent_store.h"

#include <algorithm>

#include "base/strings.h"

namespace goldroot {

const char* host_state_name(HostState state) {
  switch (state) {
    case HostState::kUp: return "up";
    case HostState::kDown: return "down";
    case HostState::kUnseen: return "unseen";
  }
  return "?";
}

HostState host_state(const AgentStatus& status, int64_t now, int64_t unseen_after) {
  if (!status.report) return HostState::kDown;
  if (status.boot_requested_at && *status.boot_requested_at > status.received_at)
    return HostState::kDown;  // booting again (or failed to) since it last spoke
  if (status.report->event == "shutdown") return HostState::kDown;
  int64_t limit = unseen_after;
  if (limit <= 0) limit = 3 * std::max<int64_t>(status.report->interval_seconds, 1) + 5;
  if (now - status.received_at > limit) return HostState::kUnseen;
  return HostState::kUp;
}

Status validate_time_of_day(const std::string& text) {
  bool shaped = text.size() == 5 && text[2] == ':' && std::isdigit(text[0]) &&
                std::isdigit(text[1]) && std::isdigit(text[3]) && std::isdigit(text[4]);
  if (!shaped || std::stoi(text.substr(0, 2)) > 23 || std::stoi(text.substr(3)) > 59)
    return make_error(ErrorCode::kInvalidArgument,
                      "'" + text + "' is not a time of day; write HH:MM (e.g. 22:00)");
  return {};
}

Result<int64_t> AgentStore::host_id(const std::string& host) {
  Statement query = TRY(db_.prepare("SELECT id FROM hosts WHERE name = ?"));
  query.bind(host);
  if (!TRY(query.step())) return make_error(ErrorCode::kNotFound, "there is no host " + host);
  return query.int_column(0);
}

Status AgentStore::settle_new_boot(int64_t id, const Report& report, int64_t now) {
  // The host rebooted: a reboot it was asked for is done, whoever did it.
  Statement done = TRY(db_.prepare(
      "UPDATE agent_commands SET status = 'done', output = 'the host booted again', "
      "updated_at = ? WHERE host_id = ? AND command = ? "
      "AND status IN ('pending', 'waiting') AND created_at < ?"));
  done.bind(now).bind(id).bind(command_name(CommandKind::kRebootWhenIdle))
      .bind(report.sent_at - report.uptime_seconds);
  TRY(done.run());
  // A one-shot reset took effect when the host booted after it was asked.
  Statement pending = TRY(db_.prepare(
      "SELECT previous_mode, requested_at FROM pending_resets WHERE host_id = ?"));
  pending.bind(id);
  if (TRY(pending.step())) {
    std::optional<std::string> previous = pending.optional_text_column(0);
    int64_t requested_at = pending.int_column(1);
    int64_t booted_at = report.sent_at - report.uptime_seconds;
    if (booted_at + 5 >= requested_at) {
      Statement restore = TRY(db_.prepare("UPDATE hosts SET mode = ? WHERE id = ?"));
      restore.bind(previous).bind(id);
      TRY(restore.run());
      Statement forget = TRY(db_.prepare("DELETE FROM pending_resets WHERE host_id = ?"));
      forget.bind(id);
      TRY(forget.run());
    }
  }
  return {};
}

Result<std::vector<AgentCommand>> AgentStore::record(const Report& report, const std::string& raw,
                                                     int64_t now) {
  int64_t id = TRY(host_id(report.host));
  Statement boot = TRY(db_.prepare(
      "SELECT last_sequence FROM agent_boots WHERE host_id = ? AND boot_id = ?"));
  boot.bind(id).bind(report.boot_id);
  bool known_boot = TRY(boot.step());
  if (known_boot) {
    int64_t last = boot.int_column(0);
    if (report.sequence <= last)
      return make_error(ErrorCode::kAlreadyExists,
                        "report " + std::to_string(report.sequence) + " of " + report.host +
                            "'s boot " + report.boot_id + " is a replay: the server already has " +
                            "report " + std::to_string(last));
    Statement advance = TRY(db_.prepare(
        "UPDATE agent_boots SET last_sequence = ?, last_seen = ? WHERE host_id = ? AND boot_id = ?"));
    advance.bind(report.sequence).bind(now).bind(id).bind(report.boot_id);
    TRY(advance.run());
  } else {
    if (report.sent_at < now - kMaxReportAgeSeconds)
      return make_error(ErrorCode::kInvalidArgument,
                        "report of " + report.host + " is more than a week old and from a boot "
                        "the server does not know");
    Statement insert = TRY(db_.prepare(
        "INSERT INTO agent_boots (host_id, boot_id, last_sequence, first_seen, last_seen) "
        "VALUES (?, ?, ?, ?, ?)"));
    insert.bind(id).bind(report.boot_id).bind(report.sequence).bind(now).bind(now);
    TRY(insert.run());
    Statement prune = TRY(db_.prepare(
        "DELETE FROM agent_boots WHERE host_id = ?1 AND boot_id NOT IN (SELECT boot_id FROM "
        "agent_boots WHERE host_id = ?1 ORDER BY last_seen DESC, first_seen DESC LIMIT ?2)"));
    prune.bind(id).bind(int64_t{kBootsPerHost});
    TRY(prune.run());
  }

  // The newest report becomes the host's status; a late report from an
  // older boot (a spool emptied after a reboot) only enters the history.
  Statement current = TRY(db_.prepare("SELECT boot_id, sent_at FROM agent_status WHERE host_id = ?"));
  current.bind(id);
  bool has_current = TRY(current.step());
  bool same_boot = has_current && current.text_column(0) == report.boot_id;
  bool newer = !has_current || same_boot || report.sent_at >= current.int_column(1);
  if (newer) {
    if (!same_boot && !known_boot) TRY(settle_new_boot(id, report, now));
    Statement replace = TRY(db_.prepare(
        "INSERT INTO agent_status (host_id, boot_id, sequence, sent_at, received_at, report) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (host_id) DO UPDATE SET boot_id = "
        "excluded.boot_id, sequence = excluded.sequence, sent_at = excluded.sent_at, "
        "received_at = excluded.received_at, report = excluded.report"));
    replace.bind(id).bind(report.boot_id).bind(report.sequence).bind(report.sent_at).bind(now).bind(raw);
    TRY(replace.run());
  }
  Statement history = TRY(db_.prepare(
      "INSERT INTO agent_history (host_id, boot_id, sequence, sent_at, received_at, event, "
      "commit_id, dirty, changes, users) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  history.bind(id).bind(report.boot_id).bind(report.sequence).bind(report.sent_at).bind(now)
      .bind(report.event).bind(report.commit).bind(int64_t{report.dirty})
      .bind(static_cast<int64_t>(report.changes.total))
      .bind(static_cast<int64_t>(report.users.size()));
  TRY(history.run());
  Statement trim = TRY(db_.prepare(
      "DELETE FROM agent_history WHERE host_id = ?1 AND id <= (SELECT id FROM agent_history "
      "WHERE host_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)"));
  trim.bind(id).bind(int64_t{kHistoryPerHost});
  TRY(trim.run());

  for (const CommandResult& result : report.results) {
    Statement update = TRY(db_.prepare(
        "UPDATE agent_commands SET status = ?, output = ?, updated_at = ? "
        "WHERE id = ? AND host_id = ? AND status IN ('pending', 'waiting')"));
    update.bind(command_status_name(result.status))
        .bind(result.output.substr(0, 512 * 1024))
        .bind(now)
        .bind(result.id)
        .bind(id);
    TRY(update.run());
  }

  std::vector<AgentCommand> commands;
  Statement open = TRY(db_.prepare(
      "SELECT id, command, path FROM agent_commands WHERE host_id = ? "
      "AND status IN ('pending', 'waiting') ORDER BY id"));
  open.bind(id);
  while (TRY(open.step())) {
    AgentCommand command{open.int_column(0), open.text_column(1), open.text_column(2), ""};
    if (command.kind() == CommandKind::kUploadUpper) command.url = upload_path(command.id);
    commands.push_back(std::move(command));
  }
  return commands;
}

Status AgentStore::record_boot_request(const std::string& host, int64_t now,
                                       const std::string& mode) {
  int64_t id = TRY(host_id(host));
  // A new boot clears the last one's alert.
  Statement insert = TRY(db_.prepare(
      "INSERT INTO boot_requests (host_id, requested_at, mode, alert) VALUES (?, ?, ?, NULL) "
      "ON CONFLICT (host_id) DO UPDATE SET requested_at = excluded.requested_at, "
      "mode = excluded.mode, alert = NULL"));
  insert.bind(id).bind(now).bind(mode);
  return insert.run();
}

Result<bool> AgentStore::check_reported_mode(const std::string& host, const std::string& mode,
                                             int64_t now) {
  int64_t id = TRY(host_id(host));
  Statement query = TRY(db_.prepare("SELECT mode FROM boot_requests WHERE host_id = ?"));
  query.bind(id);
  if (!TRY(query.step())) return true;
  std::optional<std::string> issued = query.optional_text_column(0);
  if (!issued || *issued == mode || (*issued == "normal" && mode == "reset")) return true;
  Statement alert = TRY(db_.prepare("UPDATE boot_requests SET alert = ? WHERE host_id = ?"));
  alert.bind("booted in mode " + mode + ", but its manifest said " + *issued + " (at " +
             format_utc(now) + " UTC); its reports are refused until it boots as told")
      .bind(id);
  TRY(alert.run());
  return false;
}

namespace {

constexpr const char* kStatusQuery =
    "SELECT h.name, l.name, s.report, s.received_at, b.requested_at, b.mode, b.alert FROM hosts h "
    "LEFT JOIN labs l ON l.id = h.lab_id LEFT JOIN agent_status s ON s.host_id = h.id "
    "LEFT JOIN boot_requests b ON b.host_id = h.id ";

Result<AgentStatus> status_row(Statement& query) {
  AgentStatus status;
  status.host = query.text_column(0);
  status.lab = query.optional_text_column(1);
  if (auto raw = query.optional_text_column(2)) {
    auto report = Report::parse(*raw);
    if (report.ok()) status.report = std::move(report).value();
    status.received_at = query.int_column(3);
  }
  if (query.optional_text_column(4)) status.boot_requested_at = query.int_column(4);
  status.issued_mode = query.optional_text_column(5);
  status.alert = query.optional_text_column(6);
  return status;
}

}  // namespace

Result<std::vector<AgentStatus>> AgentStore::statuses(const std::optional<std::string>& lab) {
  Statement query = TRY(db_.prepare(std::string(kStatusQuery) +
                                    (lab ? "WHERE l.name = ? " : "") + "ORDER BY h.name"));
  if (lab) query.bind(*lab);
  std::vector<AgentStatus> out;
  while (TRY(query.step())) out.push_back(TRY(status_row(query)));
  // Byte order whatever the PostgreSQL database's collation, as SQLite sorts.
  std::sort(out.begin(), out.end(),
            [](const AgentStatus& a, const AgentStatus& b) { return a.host < b.host; });
  return out;
}

Result<std::optional<AgentStatus>> AgentStore::status(const std::string& host) {
  Statement query = TRY(db_.prepare(std::string(kStatusQuery) + "WHERE h.name = ?"));
  query.bind(host);
  if (!TRY(query.step())) return std::optional<AgentStatus>();
  return std::optional<AgentStatus>(TRY(status_row(query)));
}

Result<std::vector<nlohmann::json>> AgentStore::history(const std::string& host, int limit) {
  int64_t id = TRY(host_id(host));
  Statement query = TRY(db_.prepare(
      "SELECT boot_id, sequence, sent_at, received_at, event, commit_id, dirty, changes, users "
      "FROM agent_history WHERE host_id = ? ORDER BY id DESC LIMIT ?"));
  query.bind(id).bind(int64_t{limit});
  std::vector<nlohmann::json> out;
  while (TRY(query.step()))
    out.push_back({{"boot_id", query.text_column(0)}, {"sequence", query.int_column(1)},
                   {"sent_at", query.int_column(2)}, {"received_at", query.int_column(3)},
                   {"event", query.text_column(4)}, {"commit", query.text_column(5)},
                   {"dirty", query.int_column(6) != 0}, {"changes", query.int_column(7)},
                   {"users", query.int_column(8)}});
  return out;
}

Result<int64_t> AgentStore::queue_command(const std::string& host, CommandKind command,
                                          const std::string& path, int64_t now) {
  int64_t id = TRY(host_id(host));
  // One open reboot request per host is enough.
  if (command == CommandKind::kRebootWhenIdle) {
    Statement existing = TRY(db_.prepare(
        "SELECT id FROM agent_commands WHERE host_id = ? AND command = ? "
        "AND status IN ('pending', 'waiting')"));
    existing.bind(id).bind(command_name(command));
    if (TRY(existing.step())) return existing.int_column(0);
  }
  Statement insert = TRY(db_.prepare(
      "INSERT INTO agent_commands (host_id, command, path, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?) RETURNING id"));
  insert.bind(id).bind(command_name(command)).bind(path).bind(now).bind(now);
  TRY(insert.step());
  int64_t command_id = insert.int_column(0);
  TRY(insert.run());
  return command_id;
}

namespace {
constexpr const char* kCommandQuery =
    "SELECT c.id, h.name, c.command, c.path, c.status, c.output, c.created_at, c.updated_at "
    "FROM agent_commands c JOIN hosts h ON h.id = c.host_id ";

Result<StoredCommand> command_row(Statement& query) {
  StoredCommand command;
  command.id = query.int_column(0);
  command.host = query.text_column(1);
  command.command = query.text_column(2);
  command.path = query.text_column(3);
  std::string status = query.text_column(4);
  std::optional<CommandStatus> parsed = parse_command_status(status);
  if (!parsed)
    return make_error(ErrorCode::kCorruption, "agent command " + std::to_string(command.id) +
                                                  " has the unknown status '" + status + "'");
  command.status = *parsed;
  command.output = query.text_column(5);
  command.created_at = query.int_column(6);
  command.updated_at = query.int_column(7);
  return command;
}
}  // namespace

Result<std::optional<StoredCommand>> AgentStore::command(int64_t id) {
  Statement query = TRY(db_.prepare(std::string(kCommandQuery) + "WHERE c.id = ?"));
  query.bind(id);
  if (!TRY(query.step())) return std::optional<StoredCommand>();
  return std::optional<StoredCommand>(TRY(command_row(query)));
}

Result<std::vector<StoredCommand>> AgentStore::open_commands(const std::string& host) {
  Statement query = TRY(db_.prepare(std::string(kCommandQuery) +
                                    "WHERE h.name = ? AND c.status IN ('pending', 'waiting') "
                                    "ORDER BY c.id"));
  query.bind(host);
  std::vector<StoredCommand> out;
  while (TRY(query.step())) out.push_back(TRY(command_row(query)));
  return out;
}

Result<bool> AgentStore::cancel_command(int64_t id, const std::string& why, int64_t now) {
  Statement update = TRY(db_.prepare(
      "UPDATE agent_commands SET status = 'cancelled', output = ?, updated_at = ? "
      "WHERE id = ? AND status IN ('pending', 'waiting')"));
  update.bind(why).bind(now).bind(id);
  TRY(update.run());
  return db_.changes() > 0;
}

Status AgentStore::set_pending_reset(const std::string& host,
                                     std::optional<std::string> previous_mode, int64_t now) {
  int64_t id = TRY(host_id(host));
  // Keep the mode from before the first of several resets.
  Statement insert = TRY(db_.prepare(
      "INSERT INTO pending_resets (host_id, previous_mode, requested_at) VALUES (?, ?, ?) "
      "ON CONFLICT (host_id) DO UPDATE SET requested_at = excluded.requested_at"));
  insert.bind(id).bind(previous_mode).bind(now);
  return insert.run();
}

Status AgentStore::set_schedule(const std::string& lab, const std::string& reset_at) {
  Statement lab_query = TRY(db_.prepare("SELECT id FROM labs WHERE name = ?"));
  lab_query.bind(lab);
  if (!TRY(lab_query.step())) return make_error(ErrorCode::kNotFound, "there is no lab " + lab);
  int64_t id = lab_query.int_column(0);
  if (reset_at.empty()) {
    Statement remove = TRY(db_.prepare("DELETE FROM lab_schedules WHERE lab_id = ?"));
    remove.bind(id);
    return remove.run();
  }
  TRY(validate_time_of_day(reset_at));
  Statement insert = TRY(db_.prepare(
      "INSERT INTO lab_schedules (lab_id, reset_at) VALUES (?, ?) "
      "ON CONFLICT (lab_id) DO UPDATE SET reset_at = excluded.reset_at"));
  insert.bind(id).bind(reset_at);
  return insert.run();
}

Result<std::vector<LabSchedule>> AgentStore::schedules() {
  Statement query = TRY(db_.prepare(
      "SELECT l.name, s.reset_at, s.last_run FROM lab_schedules s JOIN labs l ON l.id = s.lab_id "
      "ORDER BY l.name"));
  std::vector<LabSchedule> out;
  while (TRY(query.step()))
    out.push_back({query.text_column(0), query.text_column(1), query.text_column(2)});
  return out;
}

Status AgentStore::mark_schedule_run(const std::string& lab, const std::string& date) {
  Statement update = TRY(db_.prepare(
      "UPDATE lab_schedules SET last_run = ? WHERE lab_id = (SELECT id FROM labs WHERE name = ?)"));
  update.bind(date).bind(lab);
  return update.run();
}

Status AgentStore::add_reset_request(const std::optional<std::string>& lab, int64_t run_at) {
  Statement insert = TRY(db_.prepare("INSERT INTO reset_requests (lab, run_at) VALUES (?, ?)"));
  insert.bind(lab).bind(run_at);
  return insert.run();
}

Result<std::vector<std::pair<int64_t, std::optional<std::string>>>>
AgentStore::due_reset_requests(int64_t now) {
  Statement query = TRY(db_.prepare(
      "SELECT id, lab FROM reset_requests WHERE done = 0 AND run_at <= ? ORDER BY id"));
  query.bind(now);
  std::vector<std::pair<int64_t, std::optional<std::string>>> out;
  while (TRY(query.step())) out.emplace_back(query.int_column(0), query.optional_text_column(1));
  return out;
}

Status AgentStore::finish_reset_request(int64_t id) {
  Statement update = TRY(db_.prepare("UPDATE reset_requests SET done = 1 WHERE id = ?"));
  update.bind(id);
  return update.run();
}

}  // namespace goldroot

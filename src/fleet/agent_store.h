// AgentStore: the inventory's record of what hosts' agents said — the last
// report per host (in full), a bounded history (the last kHistoryPerHost
// reports, summarized), the sequence numbers seen per host and boot (replay
// protection), boot requests, commands queued for agents, one-shot resets,
// and per-lab reset schedules. Tables from schema step 2.
//
// Callers hold a transaction (Inventory::begin_write/begin_read) around
// each call that writes more than one row. Borrows the Database; not
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fleet/database.h"
#include "report/report.h"

namespace goldroot {

inline constexpr int kHistoryPerHost = 100;
inline constexpr int kBootsPerHost = 20;
// Reports of a boot the server no longer remembers are refused when older
// than this: the spool keeps reports for an outage, not for a week.
inline constexpr int64_t kMaxReportAgeSeconds = 7 * 24 * 3600;

enum class HostState { kUp, kDown, kUnseen };
const char* host_state_name(HostState state);

struct AgentStatus {
  std::string host;
  std::optional<std::string> lab;
  std::optional<Report> report;  // the newest; nullopt if it never reported
  int64_t received_at = 0;
  std::optional<int64_t> boot_requested_at;
  std::optional<std::string> issued_mode;  // the mode of its last manifest
  std::optional<std::string> alert;        // e.g. it booted in another mode
};

struct StoredCommand {
  int64_t id = 0;
  std::string host;
  std::string command;  // command_name() of its kind, as sent to the agent
  std::string path;
  CommandStatus status = CommandStatus::kPending;
  std::string output;
  int64_t created_at = 0, updated_at = 0;
  std::optional<CommandKind> kind() const { return parse_command_kind(command); }
};

struct LabSchedule {
  std::string lab;
  std::string reset_at;  // "HH:MM", local time
  std::string last_run;  // "YYYY-MM-DD" of the last run, or ""
};

class AgentStore {
 public:
  explicit AgentStore(Database& db) : db_(db) {}

  // Stores `report` (already authenticated) received at `now`: refuses a
  // replay (kAlreadyExists) or a report of a forgotten boot older than
  // kMaxReportAgeSeconds (kInvalidArgument); applies its command results,
  // completes what a new boot settles (reboot-when-idle, one-shot resets)
  // and returns the commands still open for the host.
  Result<std::vector<AgentCommand>> record(const Report& report, const std::string& raw,
                                           int64_t now);

  // `host` was given a manifest for `mode` at `now` (it counts as booting).
  Status record_boot_request(const std::string& host, int64_t now, const std::string& mode);
  // Whether a report of `mode` fits the mode the host's last manifest gave
  // (the same, or a reset the machine asked for as a normal host); a host
  // given no manifest yet (a server older than this) fits. A misfit is
  // remembered as the host's alert, for status.
  Result<bool> check_reported_mode(const std::string& host, const std::string& mode, int64_t now);

  // Every host of the inventory (of `lab`, if given), sorted by name.
  Result<std::vector<AgentStatus>> statuses(const std::optional<std::string>& lab);
  Result<std::optional<AgentStatus>> status(const std::string& host);
  // The newest history entries of `host`, newest first.
  Result<std::vector<nlohmann::json>> history(const std::string& host, int limit);

  // Queues `command` (with `path`, for content-diff) for `host`'s agent; a
  // reboot-when-idle already open is not queued twice. Its id.
  Result<int64_t> queue_command(const std::string& host, CommandKind command,
                                const std::string& path, int64_t now);
  // kCorruption if its status column holds a word this build does not know.
  Result<std::optional<StoredCommand>> command(int64_t id);
  // Open (pending or waiting) commands of `host`.
  Result<std::vector<StoredCommand>> open_commands(const std::string& host);
  // Withdraws an open command (status "cancelled", output `why`): it is no
  // longer sent, and a late result for it is ignored. False if it was not
  // open any more.
  Result<bool> cancel_command(int64_t id, const std::string& why, int64_t now);

  // Remembers the mode a host had before `reset --dirty` set it to reset,
  // to restore it once the host booted again.
  Status set_pending_reset(const std::string& host, std::optional<std::string> previous_mode,
                           int64_t now);

  Status set_schedule(const std::string& lab, const std::string& reset_at);
  Result<std::vector<LabSchedule>> schedules();
  Status mark_schedule_run(const std::string& lab, const std::string& date);

  // One-off `reset --dirty --at`: run at `run_at` (Unix seconds) by serve.
  Status add_reset_request(const std::optional<std::string>& lab, int64_t run_at);
  // Due requests (id, lab), and marking one done.
  Result<std::vector<std::pair<int64_t, std::optional<std::string>>>> due_reset_requests(int64_t now);
  Status finish_reset_request(int64_t id);

 private:
  Result<int64_t> host_id(const std::string& host);
  Status settle_new_boot(int64_t host_id, const Report& report, int64_t now);
  Database& db_;
};

// up, down (never reported since its last boot request, or said it was
// shutting down) or unseen (silent for longer than `unseen_after` seconds;
// 0 means three of the agent's reporting intervals).
HostState host_state(const AgentStatus& status, int64_t now, int64_t unseen_after);

// "HH:MM" with 00 <= HH < 24 and 00 <= MM < 60.
Status validate_time_of_day(const std::string& text);

}  // namespace goldroot

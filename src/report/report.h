// The agent's report protocol: what goldroot-agent POSTs to
// /api/v1/reports, and what the server answers. Shared by the agent (which
// builds and signs reports) and the server (which checks and stores them),
// so it depends on nothing but base and crypto.
//
// Request: POST /api/v1/reports, Content-Type: application/json,
//   X-Goldroot-Signature: ed25519=<base64>
// signed with the host's own key over report_statement(body)
// (crypto/host_signature.h). Body:
//   {"version": 1, "host": "pc01", "mac": "52:54:00:aa:00:01",
//    "boot_id": "<uuid>", "sequence": 17, "sent_at": 1795000000,
//    "event": "start"|"periodic"|"shutdown"|"result",
//    "commit": "<hex>", "manifest_sha256": "<hex>", "mode": "normal",
//    "upper": {"kind": "tmpfs", "used_bytes": 123, "total_bytes": 456},
//    "root": {"backing": "network", "blocks": 75000, "present": 4400,
//             "fetched_bytes": 18000000, "seeded_bytes": 270000000,
//             "verify_failures": 0, "error": ""},
//    "prefetch": {"commit": "<hex>", "root_hash": "<hex>", "state": "fetching",
//                 "done_bytes": 1200000, "total_bytes": 300000000,
//                 "fetched_bytes": 900000, "seeded_bytes": 280000000,
//                 "error": ""}                                 (optional)
//    "dirty": true,
//    "changes": {"total": 4, "ignored": 9, "counts": {"added": 3, "modified": 1},
//                "paths": [{"path": "/etc/motd", "change": "modified"}, …],  first 200
//                "truncated": false, "error": "…" (only when reading failed)},
//    "uptime_seconds": 3600, "interval_seconds": 60,
//    "users": [{"user": "alice", "line": "tty1", "host": "", "since": 1795000000}],
//    "last_input": 1795000000 | null,
//    "results": [{"id": 7, "command": "reboot-when-idle", "status": "waiting",
//                 "output": "1 user logged in"}]}
// `sequence` increases strictly within one boot (boot_id); the server
// refuses a report whose sequence is not above the last it stored for that
// host and boot (a replay).
//
// Reply 200: {"accepted": true, "commands": [AgentCommand…]}. Commands are
// the pull channel to the client (which opens no port):
//   {"id": 7, "command": "reboot-when-idle"}
//   {"id": 8, "command": "content-diff", "path": "/etc/fstab"}
//   {"id": 9, "command": "upload-upper", "url": "/api/v1/uploads/9"}
// upload-upper (for `goldroot capture --host`): the agent POSTs its upper
// dir as a pax tar (overlay/upper_archive.h), streamed with chunked
// transfer coding, to `url`, signed with X-Goldroot-Signature:
// the host key over report_statement(upload_statement(id)). The server answers
// {"sha256": "<hex>", "bytes": N} with what it stored; the agent's result
// ("done") then carries its own count in its output, as JSON:
// {"sha256", "bytes", "entries", "changed_while_read": [...],
// "skipped_sockets"} — signed like every report, so the admin's side can
// check the stored archive is byte for byte what the host sent.
// A command is repeated in every reply until a report carries a result for
// its id with status "done", "failed" or "unsupported"; "waiting" keeps it
// open (reboot-when-idle while a user is logged in). Unknown commands are
// answered "unsupported", so old agents and new servers get along.
//
// Pre-fetch (issue #19): while the host's lab allows it (site/prefetch_setting.h)
// and its channel or pin points at another commit than it booted, the reply
// also carries {"prefetch": {"manifest": "<signed boot manifest text>"}}:
// a version-2 manifest (manifest/boot_manifest.h) of that image, signed by
// the site and bound to this host's name, MAC and key, and to this report
// by its challenge, prefetch_challenge(boot_id, sequence). The agent
// verifies it as goldroot-boot verifies a manifest and fetches only the
// image it names, checked block by block against its verity root hash; a
// reply without it stops a pre-fetch under way (what was fetched stays).
// Errors: 400 malformed, 401 unsigned, 403 bad signature or unknown host,
// 409 replay, 413 too large — each {"error": "…"}.
//
// Plain values; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace goldroot {

inline constexpr size_t kReportPathLimit = 200;
inline constexpr size_t kMaxReportBytes = 1024 * 1024;
inline constexpr const char* kSignatureHeader = "x-goldroot-signature";

struct ReportedChange {
  std::string path;
  std::string change;  // change_kind_name(): added, modified, …
  bool operator==(const ReportedChange&) const = default;
};

struct ChangeSummary {
  uint64_t total = 0;    // changes outside the ignore list
  uint64_t ignored = 0;
  std::map<std::string, uint64_t> counts;  // by kind, non-zero only
  std::vector<ReportedChange> paths;       // the first kReportPathLimit
  bool truncated = false;
  std::string error;  // why the changes could not be read ("" if they could)
  bool operator==(const ChangeSummary&) const = default;
};

// Where the image under the root is read from: "copy" (downloaded whole
// and verified before the mount, in RAM or on the data partition),
// "network" (fetched on demand by goldroot-blockd: `present` of `blocks`
// 4 KiB blocks are local), "local" (on demand, then moved onto the local
// copy: the server is no longer needed). Empty when the agent cannot tell.
struct RootStorage {
  std::string backing = {};
  uint64_t blocks = 0, present = 0;
  uint64_t fetched_bytes = 0;    // over the network this boot (its hash tree included)
  uint64_t seeded_bytes = 0;     // copied from an older image's cache on the disk instead
  uint64_t verify_failures = 0;  // blocks that did not match the image's hash tree
  std::string error = {};        // the daemon's last error, "" if none
  bool operator==(const RootStorage&) const = default;
  // 0-100, rounded down; 100 only when every block is present.
  int fill_percent() const;
};

// What the agent pre-fetches for the next boot (issue #19), and how far
// its cache is. "state": fetching, paused (the server's window closed),
// complete, failed or refused (the order did not verify; `error` says why).
struct PrefetchState {
  std::string commit = {};     // "" : no pre-fetch
  std::string root_hash = {};
  std::string state = {};
  uint64_t done_bytes = 0, total_bytes = 0;  // of the image's cache (blocks and tree)
  uint64_t fetched_bytes = 0;  // over the network
  uint64_t seeded_bytes = 0;   // copied from an older image's cache instead
  std::string error = {};
  bool operator==(const PrefetchState&) const = default;
  bool empty() const { return commit.empty() && state.empty(); }
  // 0-100, rounded down; 100 only when complete.
  int percent() const;
};

struct UserSession {
  std::string user, line, host;
  int64_t since = 0;
  bool operator==(const UserSession&) const = default;
};

// What the server asks an agent to do; the wire and the database carry
// command_name().
enum class CommandKind { kRebootWhenIdle, kContentDiff, kUploadUpper };

const char* command_name(CommandKind kind);
// One of reboot-when-idle, content-diff, upload-upper; nullopt for a name
// this build does not know (a newer server's command).
std::optional<CommandKind> parse_command_kind(std::string_view name);

// Where a command stands. An agent answers waiting, done, failed or
// unsupported; pending (queued, not answered yet) and cancelled (withdrawn
// by an admin's tool) are the server's own.
enum class CommandStatus { kPending, kWaiting, kDone, kFailed, kUnsupported, kCancelled };

const char* command_status_name(CommandStatus status);
std::optional<CommandStatus> parse_command_status(std::string_view name);
// Open commands are sent to the agent with every reply; a final one never
// changes again. Every status is exactly one of the two.
bool is_open(CommandStatus status);   // pending or waiting
bool is_final(CommandStatus status);  // done, failed, unsupported or cancelled

struct CommandResult {
  int64_t id = 0;
  std::string command;  // as the server sent it, even when the agent does not know it
  CommandStatus status = CommandStatus::kDone;  // waiting, done, failed or unsupported
  std::string output;
  bool operator==(const CommandResult&) const = default;
  bool final() const { return is_final(status); }
};

struct Report {
  std::string host, mac, boot_id;
  int64_t sequence = 0;
  int64_t sent_at = 0;  // Unix seconds
  std::string event = "periodic";
  std::string commit, manifest_sha256, mode;
  std::string upper_kind;
  uint64_t upper_used_bytes = 0, upper_total_bytes = 0;
  RootStorage root;
  PrefetchState prefetch;
  bool dirty = false;
  ChangeSummary changes;
  int64_t uptime_seconds = 0;
  int64_t interval_seconds = 0;  // how often the agent reports
  std::vector<UserSession> users;
  std::optional<int64_t> last_input;
  std::vector<CommandResult> results;

  bool operator==(const Report&) const = default;
  nlohmann::ordered_json to_json() const;
  std::string serialize() const { return to_json().dump(); }
  // Checks the fields a server relies on; a bad report is one sentence.
  // A result whose status is not an agent's answer (unknown, pending or
  // cancelled) becomes kFailed, so no answer can keep a command open.
  static Result<Report> parse(std::string_view text);
};

struct AgentCommand {
  int64_t id = 0;
  // The name as sent, known or not: an agent answers a command it does not
  // know "unsupported", naming it.
  std::string command;
  std::string path;  // content-diff
  std::string url;   // upload-upper: where to send it, relative to the server
  bool operator==(const AgentCommand&) const = default;
  std::optional<CommandKind> kind() const { return parse_command_kind(command); }
  nlohmann::json to_json() const;
  static Result<AgentCommand> from_json(const nlohmann::json& json);
};

// upload-upper's URL path, and what its signature signs.
std::string upload_path(int64_t command_id);
std::string upload_statement(int64_t command_id);
// The challenge a pre-fetch manifest answering report (boot_id, sequence)
// is bound to; never one the server mints for a boot request.
std::string prefetch_challenge(const std::string& boot_id, int64_t sequence);

struct ReportReply {
  std::vector<AgentCommand> commands;
  // When > 0, the agent reports again within this many seconds, even if
  // its own interval is longer: the server wants a host's commands picked
  // up quickly (a maintenance host, where admins act).
  int64_t report_within_seconds = 0;
  // The signed pre-fetch manifest, "" for none (see above). Untrusted
  // until the agent verified it.
  std::string prefetch_manifest = {};
  std::string serialize() const;
  static Result<ReportReply> parse(std::string_view text);
};

}  // namespace goldroot

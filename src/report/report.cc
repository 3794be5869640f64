#include "report/report.h"

#include <algorithm>

#include "base/json.h"

namespace goldroot {

namespace {

using Json = nlohmann::json;

Error bad(const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, "malformed report: " + what);
}

// Field readers that turn a wrong type into a sentence instead of an exception.
Result<std::string> text_field(const Json& json, const char* name, bool required) {
  auto found = json.find(name);
  if (found == json.end() || found->is_null()) {
    if (required) return bad(std::string("\"") + name + "\" is missing");
    return std::string();
  }
  if (!found->is_string()) return bad(std::string("\"") + name + "\" is not a string");
  return found->get<std::string>();
}

Result<int64_t> int_field(const Json& json, const char* name, bool required) {
  auto found = json.find(name);
  if (found == json.end() || found->is_null()) {
    if (required) return bad(std::string("\"") + name + "\" is missing");
    return int64_t{0};
  }
  if (!found->is_number_integer()) return bad(std::string("\"") + name + "\" is not an integer");
  return found->get<int64_t>();
}

bool valid_name(const std::string& text, size_t limit) {
  if (text.empty() || text.size() > limit) return false;
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return false;
  return true;
}

constexpr CommandKind kCommandKinds[] = {CommandKind::kRebootWhenIdle, CommandKind::kContentDiff,
                                         CommandKind::kUploadUpper};
constexpr CommandStatus kCommandStatuses[] = {
    CommandStatus::kPending, CommandStatus::kWaiting,     CommandStatus::kDone,
    CommandStatus::kFailed,  CommandStatus::kUnsupported, CommandStatus::kCancelled};

// What a result's status means to the server: an agent's answer as is; any
// other word (a newer agent's, or a status only the server sets) failed.
CommandStatus answered_status(std::string_view text) {
  std::optional<CommandStatus> status = parse_command_status(text);
  if (!status || *status == CommandStatus::kPending || *status == CommandStatus::kCancelled)
    return CommandStatus::kFailed;
  return *status;
}

}  // namespace

int RootStorage::fill_percent() const {
  if (blocks == 0) return backing == "network" ? 0 : 100;
  if (present >= blocks) return 100;
  return static_cast<int>(present * 100 / blocks);
}

const char* command_name(CommandKind kind) {
  switch (kind) {
    case CommandKind::kRebootWhenIdle: return "reboot-when-idle";
    case CommandKind::kContentDiff: return "content-diff";
    case CommandKind::kUploadUpper: return "upload-upper";
  }
  return "?";
}

std::optional<CommandKind> parse_command_kind(std::string_view name) {
  for (CommandKind kind : kCommandKinds)
    if (name == command_name(kind)) return kind;
  return std::nullopt;
}

const char* command_status_name(CommandStatus status) {
  switch (status) {
    case CommandStatus::kPending: return "pending";
    case CommandStatus::kWaiting: return "waiting";
    case CommandStatus::kDone: return "done";
    case CommandStatus::kFailed: return "failed";
    case CommandStatus::kUnsupported: return "unsupported";
    case CommandStatus::kCancelled: return "cancelled";
  }
  return "?";
}

std::optional<CommandStatus> parse_command_status(std::string_view name) {
  for (CommandStatus status : kCommandStatuses)
    if (name == command_status_name(status)) return status;
  return std::nullopt;
}

bool is_open(CommandStatus status) {
  return status == CommandStatus::kPending || status == CommandStatus::kWaiting;
}

bool is_final(CommandStatus status) { return !is_open(status); }

int PrefetchState::percent() const {
  if (total_bytes == 0) return 0;
  if (done_bytes >= total_bytes) return state == "complete" ? 100 : 99;
  int percent = static_cast<int>(done_bytes * 100 / total_bytes);
  return percent;
}

nlohmann::ordered_json Report::to_json() const {
  nlohmann::ordered_json counts = nlohmann::ordered_json::object();
  for (const auto& [kind, count] : changes.counts) counts[kind] = count;
  nlohmann::ordered_json paths = nlohmann::ordered_json::array();
  for (const ReportedChange& change : changes.paths)
    paths.push_back({{"path", change.path}, {"change", change.change}});
  nlohmann::ordered_json change_json = {{"total", changes.total},
                                        {"ignored", changes.ignored},
                                        {"counts", counts},
                                        {"paths", paths},
                                        {"truncated", changes.truncated}};
  if (!changes.error.empty()) change_json["error"] = changes.error;
  nlohmann::ordered_json user_json = nlohmann::ordered_json::array();
  for (const UserSession& user : users)
    user_json.push_back(
        {{"user", user.user}, {"line", user.line}, {"host", user.host}, {"since", user.since}});
  nlohmann::ordered_json result_json = nlohmann::ordered_json::array();
  for (const CommandResult& result : results)
    result_json.push_back({{"id", result.id},
                           {"command", result.command},
                           {"status", command_status_name(result.status)},
                           {"output", result.output}});
  nlohmann::ordered_json out = {{"version", 1},
          {"host", host},
          {"mac", mac},
          {"boot_id", boot_id},
          {"sequence", sequence},
          {"sent_at", sent_at},
          {"event", event},
          {"commit", commit},
          {"manifest_sha256", manifest_sha256},
          {"mode", mode},
          {"upper", {{"kind", upper_kind}, {"used_bytes", upper_used_bytes},
                     {"total_bytes", upper_total_bytes}}},
          {"root", {{"backing", root.backing}, {"blocks", root.blocks}, {"present", root.present},
                    {"fetched_bytes", root.fetched_bytes}, {"seeded_bytes", root.seeded_bytes},
                    {"verify_failures", root.verify_failures}, {"error", root.error}}},
          {"dirty", dirty},
          {"changes", change_json},
          {"uptime_seconds", uptime_seconds},
          {"interval_seconds", interval_seconds},
          {"users", user_json},
          {"last_input", last_input ? nlohmann::ordered_json(*last_input) : nullptr},
          {"results", result_json}};
  if (!prefetch.empty())
    out["prefetch"] = {{"commit", prefetch.commit},         {"root_hash", prefetch.root_hash},
                       {"state", prefetch.state},           {"done_bytes", prefetch.done_bytes},
                       {"total_bytes", prefetch.total_bytes},
                       {"fetched_bytes", prefetch.fetched_bytes},
                       {"seeded_bytes", prefetch.seeded_bytes},
                       {"error", prefetch.error}};
  return out;
}

Result<Report> Report::parse(std::string_view text) {
  Json json = parse_untrusted_json<Json>(text);
  if (json.is_discarded() || !json.is_object()) return bad("the body is not a JSON object");
  if (TRY(int_field(json, "version", true)) != 1)
    return make_error(ErrorCode::kUnsupported, "report version is not 1");
  Report report;
  report.host = TRY(text_field(json, "host", true));
  if (!valid_name(report.host, 64)) return bad("\"host\" is not a host name");
  report.boot_id = TRY(text_field(json, "boot_id", true));
  if (!valid_name(report.boot_id, 64)) return bad("\"boot_id\" is not a boot id");
  report.sequence = TRY(int_field(json, "sequence", true));
  if (report.sequence <= 0) return bad("\"sequence\" must be positive");
  report.sent_at = TRY(int_field(json, "sent_at", true));
  report.mac = TRY(text_field(json, "mac", false));
  report.event = TRY(text_field(json, "event", false));
  if (report.event.empty()) report.event = "periodic";
  if (report.event != "start" && report.event != "periodic" && report.event != "shutdown" &&
      report.event != "result")
    return bad("\"event\" is not start, periodic, shutdown or result");
  report.commit = TRY(text_field(json, "commit", false));
  report.manifest_sha256 = TRY(text_field(json, "manifest_sha256", false));
  report.mode = TRY(text_field(json, "mode", false));
  if (auto upper = json.find("upper"); upper != json.end() && upper->is_object()) {
    report.upper_kind = TRY(text_field(*upper, "kind", false));
    report.upper_used_bytes = static_cast<uint64_t>(TRY(int_field(*upper, "used_bytes", false)));
    report.upper_total_bytes = static_cast<uint64_t>(TRY(int_field(*upper, "total_bytes", false)));
  }
  if (auto root = json.find("root"); root != json.end() && root->is_object()) {
    report.root.backing = TRY(text_field(*root, "backing", false));
    report.root.blocks = static_cast<uint64_t>(TRY(int_field(*root, "blocks", false)));
    report.root.present = static_cast<uint64_t>(TRY(int_field(*root, "present", false)));
    report.root.fetched_bytes = static_cast<uint64_t>(TRY(int_field(*root, "fetched_bytes", false)));
    report.root.seeded_bytes = static_cast<uint64_t>(TRY(int_field(*root, "seeded_bytes", false)));
    report.root.verify_failures =
        static_cast<uint64_t>(TRY(int_field(*root, "verify_failures", false)));
    report.root.error = TRY(text_field(*root, "error", false));
    if (report.root.present > report.root.blocks)
      return bad("\"root\" has more blocks present than it has");
  }
  if (auto prefetch = json.find("prefetch"); prefetch != json.end() && prefetch->is_object()) {
    PrefetchState& state = report.prefetch;
    state.commit = TRY(text_field(*prefetch, "commit", false));
    state.root_hash = TRY(text_field(*prefetch, "root_hash", false));
    state.state = TRY(text_field(*prefetch, "state", false));
    state.done_bytes = static_cast<uint64_t>(TRY(int_field(*prefetch, "done_bytes", false)));
    state.total_bytes = static_cast<uint64_t>(TRY(int_field(*prefetch, "total_bytes", false)));
    state.fetched_bytes = static_cast<uint64_t>(TRY(int_field(*prefetch, "fetched_bytes", false)));
    state.seeded_bytes = static_cast<uint64_t>(TRY(int_field(*prefetch, "seeded_bytes", false)));
    state.error = TRY(text_field(*prefetch, "error", false));
    if (state.done_bytes > state.total_bytes)
      return bad("\"prefetch\" has more bytes done than it has");
  }
  if (auto dirty = json.find("dirty"); dirty != json.end()) {
    if (!dirty->is_boolean()) return bad("\"dirty\" is not true or false");
    report.dirty = dirty->get<bool>();
  }
  if (auto changes = json.find("changes"); changes != json.end() && changes->is_object()) {
    report.changes.total = static_cast<uint64_t>(TRY(int_field(*changes, "total", false)));
    report.changes.ignored = static_cast<uint64_t>(TRY(int_field(*changes, "ignored", false)));
    report.changes.error = TRY(text_field(*changes, "error", false));
    if (auto truncated = changes->find("truncated");
        truncated != changes->end() && truncated->is_boolean())
      report.changes.truncated = truncated->get<bool>();
    if (auto counts = changes->find("counts"); counts != changes->end() && counts->is_object())
      for (const auto& [kind, count] : counts->items()) {
        if (!count.is_number_unsigned() && !count.is_number_integer())
          return bad("a change count is not a number");
        report.changes.counts[kind] = count.get<uint64_t>();
      }
    if (auto paths = changes->find("paths"); paths != changes->end() && paths->is_array()) {
      if (paths->size() > kReportPathLimit)
        return bad("more than " + std::to_string(kReportPathLimit) + " paths");
      for (const Json& item : *paths) {
        if (!item.is_object()) return bad("a change is not an object");
        // Each field into a local first: leaving a braced initializer from
        // inside TRY skips the destructors of the members already built.
        std::string path = TRY(text_field(item, "path", true));
        std::string change = TRY(text_field(item, "change", true));
        report.changes.paths.push_back({std::move(path), std::move(change)});
      }
    }
  }
  report.uptime_seconds = TRY(int_field(json, "uptime_seconds", false));
  report.interval_seconds = TRY(int_field(json, "interval_seconds", false));
  if (auto users = json.find("users"); users != json.end() && users->is_array())
    for (const Json& item : *users) {
      if (!item.is_object()) return bad("a user session is not an object");
      UserSession session;
      session.user = TRY(text_field(item, "user", false));
      session.line = TRY(text_field(item, "line", false));
      session.host = TRY(text_field(item, "host", false));
      session.since = TRY(int_field(item, "since", false));
      report.users.push_back(std::move(session));
    }
  if (auto input = json.find("last_input"); input != json.end() && !input->is_null()) {
    if (!input->is_number_integer()) return bad("\"last_input\" is not a time or null");
    report.last_input = input->get<int64_t>();
  }
  if (auto results = json.find("results"); results != json.end() && results->is_array())
    for (const Json& item : *results) {
      if (!item.is_object()) return bad("a command result is not an object");
      CommandResult result;
      result.id = TRY(int_field(item, "id", true));
      result.command = TRY(text_field(item, "command", false));
      result.status = answered_status(TRY(text_field(item, "status", true)));
      result.output = TRY(text_field(item, "output", false));
      report.results.push_back(std::move(result));
    }
  return report;
}

nlohmann::json AgentCommand::to_json() const {
  nlohmann::json json = {{"id", id}, {"command", command}};
  if (!path.empty()) json["path"] = path;
  if (!url.empty()) json["url"] = url;
  return json;
}

std::string prefetch_challenge(const std::string& boot_id, int64_t sequence) {
  return "prefetch " + boot_id + " " + std::to_string(sequence);
}

std::string upload_path(int64_t command_id) {
  return "/api/v1/uploads/" + std::to_string(command_id);
}

std::string upload_statement(int64_t command_id) {
  return "goldroot upload-upper " + std::to_string(command_id);
}

Result<AgentCommand> AgentCommand::from_json(const nlohmann::json& json) {
  if (!json.is_object()) return bad("a command is not an object");
  AgentCommand command;
  command.id = TRY(int_field(json, "id", true));
  command.command = TRY(text_field(json, "command", true));
  command.path = TRY(text_field(json, "path", false));
  command.url = TRY(text_field(json, "url", false));
  return command;
}

std::string ReportReply::serialize() const {
  nlohmann::json list = nlohmann::json::array();
  for (const AgentCommand& command : commands) list.push_back(command.to_json());
  nlohmann::json json{{"accepted", true}, {"commands", list}};
  if (report_within_seconds > 0) json["report_within_seconds"] = report_within_seconds;
  if (!prefetch_manifest.empty()) json["prefetch"] = {{"manifest", prefetch_manifest}};
  return json.dump() + "\n";
}

Result<ReportReply> ReportReply::parse(std::string_view text) {
  Json json = parse_untrusted_json<Json>(text);
  if (json.is_discarded() || !json.is_object())
    return make_error(ErrorCode::kCorruption, "the server's reply is not a JSON object");
  ReportReply reply;
  if (auto commands = json.find("commands"); commands != json.end() && commands->is_array())
    for (const Json& item : *commands) reply.commands.push_back(TRY(AgentCommand::from_json(item)));
  reply.report_within_seconds = std::max<int64_t>(0, TRY(int_field(json, "report_within_seconds", false)));
  if (auto prefetch = json.find("prefetch"); prefetch != json.end() && prefetch->is_object())
    reply.prefetch_manifest = TRY(text_field(*prefetch, "manifest", false));
  return reply;
}

}  // namespace goldroot

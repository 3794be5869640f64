#include "cli/capture_host.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "base/hash.h"
#include "base/json.h"
#include "base/progress.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "cli/export_session.h"
#include "cli/fleet_session.h"
#include "fleet/agent_store.h"
#include "fleet/effective.h"
#include "image/channel_ops.h"
#include "overlay/capture.h"
#include "overlay/reset.h"
#include "overlay/upper_unpack.h"
#include "store/channel_journal.h"

namespace goldroot::cli {

namespace {

struct Request {
  int64_t id = 0;
  Digest lower;  // the commit the host booted
  int64_t interval = 0;
  std::string database;
  std::string uploads_dir;
};

// Checks that `host` is a running maintenance host and queues the upload.
Result<Request> request_upload(Context& context, const std::string& host) {
  auto fleet = TRY(open_fleet(context, LockMode::kShared, "capture --host"));
  auto transaction = TRY(fleet.inventory.begin_write());
  auto record = TRY(fleet.inventory.find_host(host));
  if (!record) return make_error(ErrorCode::kNotFound, "there is no host " + host);
  AgentStore agents(fleet.inventory.database());
  auto status = TRY(agents.status(host));
  if (!status || !status->report)
    return make_error(ErrorCode::kInvalidArgument,
                      host + "'s agent has never reported; boot it in maintenance mode "
                             "(goldroot host set " + host + " mode=maintenance) and try again");
  const Report& report = *status->report;
  if (report.mode != "maintenance") {
    std::optional<Lab> lab;
    if (record->lab) lab = TRY(fleet.inventory.find_lab(*record->lab));
    std::string next = boot_mode_name(effective_mode(*record, lab ? &*lab : nullptr).mode);
    return make_error(ErrorCode::kInvalidArgument,
                      host + " is not in maintenance mode: it booted in mode " + report.mode +
                          (next == "maintenance"
                               ? " (its next boot is maintenance: reboot it)"
                               : "; run goldroot host set " + host +
                                     " mode=maintenance and reboot it") +
                          ", so its changes are on a disk that survives them");
  }
  int64_t now = context.env->now_seconds();
  HostState state = host_state(*status, now, 0);
  if (state != HostState::kUp)
    return make_error(ErrorCode::kBusy, host + " is " + host_state_name(state) +
                                            " (last report " +
                                            std::to_string(now - status->received_at) +
                                            " s ago); its agent must be running to upload");
  Request request;
  auto lower = fleet.site->store().resolve(report.commit);
  if (report.commit.empty() || !lower.ok())
    return make_error(ErrorCode::kNotFound, host + " runs commit " + report.commit +
                                                ", which is not in this site's store");
  request.lower = *lower;
  request.interval = report.interval_seconds;
  request.id = TRY(agents.queue_command(host, CommandKind::kUploadUpper, "", now));
  TRY(transaction.commit());
  request.database = fleet.site->database_path();
  request.uploads_dir = fleet.site->uploads_dir();
  return request;
}

// What the agent's answer must be before any field is read: a host's root
// can send anything, and a wrong type must be a sentence, not an exception.
bool is_upload_answer(const nlohmann::json& output) {
  if (!output.is_object()) return false;
  auto field = [&](const char* name) { return output.find(name); };
  if (field("sha256") == output.end() || !field("sha256")->is_string()) return false;
  if (field("bytes") == output.end() || !field("bytes")->is_number_unsigned()) return false;
  if (field("entries") != output.end() && !field("entries")->is_number_unsigned()) return false;
  if (auto paths = field("changed_while_read"); paths != output.end()) {
    if (!paths->is_array()) return false;
    for (const auto& path : *paths)
      if (!path.is_string()) return false;
  }
  return true;
}

// Waits, without the site lock, for the agent's answer; its output.
Result<nlohmann::json> wait_for_upload(const std::string& host, const Request& request,
                                       int wait_seconds) {
  Inventory inventory = TRY(Inventory::open(request.database));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
  while (true) {
    std::optional<StoredCommand> command;
    {
      auto transaction = TRY(inventory.begin_read());
      AgentStore agents(inventory.database());
      command = TRY(agents.command(request.id));
    }
    if (!command) return make_error(ErrorCode::kNotFound, "the upload request vanished");
    if (command->status == CommandStatus::kDone) {
      auto output = parse_untrusted_json(command->output);
      if (!is_upload_answer(output))
        return make_error(ErrorCode::kCorruption,
                          host + "'s agent answered the upload with '" + command->output +
                              "', which is not an upload's answer; nothing was captured");
      return output;
    }
    if (command->status == CommandStatus::kUnsupported)
      return make_error(ErrorCode::kUnsupported,
                        host + "'s agent is too old to upload its upper layer: " + command->output);
    if (is_final(command->status))
      return make_error(ErrorCode::kIo,
                        host + "'s agent could not upload its upper layer: " + command->output);
    if (std::chrono::steady_clock::now() >= deadline) {
      auto transaction = TRY(inventory.begin_write());
      AgentStore agents(inventory.database());
      TRY(agents.cancel_command(request.id, "capture --host gave up waiting", ::time(nullptr)));
      TRY(transaction.commit());
      return make_error(ErrorCode::kBusy,
                        host + "'s agent has not uploaded its upper layer within " +
                            std::to_string(wait_seconds) +
                            " s (is goldroot serve running, and the host up?); the request is "
                            "withdrawn");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

}  // namespace

Result<int> capture_host_command(Context& context, const CaptureHostOptions& options) {
  TRY(validate_ref_name(options.name, "image"));
  if (!options.channel.empty()) TRY(validate_ref_name(options.channel, "channel"));
  Request request = TRY(request_upload(context, options.host));
  if (Progress::enabled_for_stderr())
    std::fprintf(stderr,
                 "asked %s's agent to upload its upper layer (request %lld); it picks the "
                 "request up with its next report (every %lld s)\n",
                 options.host.c_str(), static_cast<long long>(request.id),
                 static_cast<long long>(request.interval));
  const std::string archive = request.uploads_dir + "/" + std::to_string(request.id) + ".tar";
  // The upload is large and can be asked for again: never keep it.
  ScopeGuard remove_archive([&] { ::unlink(archive.c_str()); });
  nlohmann::json sent = TRY(wait_for_upload(options.host, request, options.wait_seconds));

  uint64_t size = 0;
  auto digest = sha256_of_file(archive, &size);
  if (!digest.ok())
    return make_error(ErrorCode::kNotFound, "the agent says it uploaded, but " + archive +
                                                " cannot be read: " + digest.error().message);
  if (digest->hex() != sent["sha256"].get<std::string>() || size != sent["bytes"].get<uint64_t>())
    return make_error(ErrorCode::kCorruption,
                      archive + " (" + std::to_string(size) + " bytes, sha256 " + digest->hex() +
                          ") is not what " + options.host + " sent (" +
                          std::to_string(sent["bytes"].get<uint64_t>()) + " bytes, sha256 " +
                          sent["sha256"].get<std::string>() + "); nothing was captured");
  std::fprintf(stderr, "received %s from %s (%llu entries, sha256 %s)\n",
               human_bytes(size).c_str(), options.host.c_str(),
               static_cast<unsigned long long>(sent.value("entries", uint64_t{0})),
               digest->hex().c_str());
  if (sent["changed_while_read"].is_array() && !sent["changed_while_read"].empty()) {
    std::vector<std::string> paths;
    for (const auto& path : sent["changed_while_read"]) paths.push_back(path.get<std::string>());
    std::fprintf(stderr, "warning: %zu file(s) changed on %s while they were read, and are "
                         "captured as read: %s\n",
                 paths.size(), options.host.c_str(), printable(join(paths, ", ")).c_str());
  }

  auto site = TRY(context.open_site(LockMode::kExclusive, "capture --host " + options.host));
  const std::string upper = request.uploads_dir + "/" + std::to_string(request.id) + ".upper";
  if (::mkdir(upper.c_str(), 0700) != 0) return errno_error("creating " + upper, errno);
  ScopeGuard remove_upper([&] {
    (void)reset_upper(upper, std::nullopt);
    ::rmdir(upper.c_str());
  });
  TRY(unpack_upper_archive(archive, upper));
  if (!options.keep_ignored) {
    IgnoreList ignore = TRY(IgnoreList::load_or_defaults(site->root() + "/changes-ignore"));
    std::vector<std::string> dropped = TRY(discard_ignored(upper, ignore));
    if (!dropped.empty())
      std::fprintf(stderr, "left out %zu ignored path(s) (boot noise; --keep-ignored keeps them): %s\n",
                   dropped.size(), printable(join(dropped, ", ")).c_str());
  }
  CaptureOptions capture_options{options.name,
                                 options.message.empty() ? "captured from " + options.host
                                                         : options.message,
                                 XattrNamespace::kTrusted};
  CaptureResult result = TRY(capture(site->store(), request.lower, upper, capture_options));
  std::fprintf(stderr, "captured %llu entries onto %s, %s; stored %llu files (%s new)\n",
               static_cast<unsigned long long>(result.stats.entries),
               request.lower.hex().substr(0, 12).c_str(), human_bytes(result.stats.size).c_str(),
               static_cast<unsigned long long>(result.stats.files_hashed),
               human_bytes(result.stats.bytes_written).c_str());
  ExportedImage exported = TRY(export_image(*site, result.commit, ExportFormat::kErofs));
  if (!exported.manifest)
    std::fprintf(stderr, "warning: the capture cannot boot: %s\n", exported.unbootable.c_str());
  if (!options.channel.empty()) {
    Store& store = site->store();
    if (TRY(read_channel(context.env, store.refs(), store.dir(), options.channel)) != result.commit)
      TRY(set_channel(store, options.channel, result.commit, current_user(),
                      "capture --host " + options.host));
    std::fprintf(stderr, "%s -> %s; what a promote would change: goldroot image diff gold %s\n",
                 options.channel.c_str(), result.commit.hex().substr(0, 12).c_str(),
                 options.channel.c_str());
  }
  std::printf("%s\n", result.commit.hex().c_str());
  return 0;
}

}  // namespace goldroot::cli

#include "cli/capture_host.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "base/hash.h"
#include "base/progress.h"
#include "base/scope_guard.h"
#include "base/strings.h"
#include "cli/export_session.h"
#include "cli/fleet_session.h"
#include "fleet/agent_store.h"
#include "fleet/effective.h"
#include "image/channel_ops.h"
#include "image/diff.h"
#include "overlay/capture.h"
#include "overlay/reset.h"
#include "overlay/security_changes.h"
#include "overlay/upper_unpack.h"
#include "report/upload_answer.h"
#include "store/channel_journal.h"

namespace goldroot::cli {

namespace {

// Ordinary changes listed before "… and N more"; security-relevant ones are
// all listed.
constexpr size_t kOtherLines = 100;
// Paths named in the changed-while-read warning.
constexpr size_t kWarnedPaths = 20;

std::string short_hex(const Digest& commit) { return commit.hex().substr(0, 12); }

// Text the host wrote, fit for one line of a message.
std::string quote_host_text(std::string_view text) {
  constexpr size_t kLimit = 200;
  std::string shown = printable(text.substr(0, kLimit));
  if (text.size() > kLimit) shown += "…";
  return "'" + shown + "'";
}

struct Request {
  int64_t id = 0;
  Digest lower;  // the commit the host says it booted
  // What the site would boot the host from now ("channel gold"), when known.
  std::string expected_source;
  std::optional<Digest> expected;
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
  std::optional<Lab> lab;
  if (record->lab) lab = TRY(fleet.inventory.find_lab(*record->lab));
  AgentStore agents(fleet.inventory.database());
  auto status = TRY(agents.status(host));
  if (!status || !status->report)
    return make_error(ErrorCode::kInvalidArgument,
                      host + "'s agent has never reported; boot it in maintenance mode "
                             "(goldroot host set " + host + " mode=maintenance) and try again");
  const Report& report = *status->report;
  if (report.mode != "maintenance") {
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
  Store& store = fleet.site->store();
  auto lower = store.resolve(report.commit);
  if (report.commit.empty() || !lower.ok())
    return make_error(ErrorCode::kNotFound, host + " runs commit " + report.commit +
                                                ", which is not in this site's store");
  request.lower = *lower;
  // The lower is the host's word; what the site would boot it from says
  // whether the capture sits on the image the admin expects.
  EffectiveChannel follows = effective_channel(*record, lab ? &*lab : nullptr);
  if (follows.channel) {
    request.expected_source = "channel " + *follows.channel;
    auto current = read_channel(context.env, store.refs(), store.dir(), *follows.channel);
    if (current.ok()) request.expected = *current;
  } else if (follows.pinned_commit) {
    request.expected_source = "its pinned commit";
    auto pinned = store.resolve(*follows.pinned_commit);
    if (pinned.ok()) request.expected = *pinned;
  }
  request.interval = report.interval_seconds;
  request.id = TRY(agents.queue_command(host, CommandKind::kUploadUpper, "", now));
  TRY(transaction.commit());
  request.database = fleet.site->database();
  request.uploads_dir = fleet.site->uploads_dir();
  return request;
}

// Waits, without the site lock, for the agent's answer: what it says it sent.
Result<UploadAnswer> wait_for_upload(const std::string& host, const Request& request,
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
      // A host's root can answer anything: every field is type-checked.
      auto answer = UploadAnswer::parse(command->output);
      if (!answer.ok())
        return make_error(ErrorCode::kCorruption,
                          host + "'s agent answered the upload with a malformed result (" +
                              answer.error().message + "): " + quote_host_text(command->output) +
                              "; nothing was captured");
      return answer;
    }
    if (command->status == CommandStatus::kUnsupported)
      return make_error(ErrorCode::kUnsupported, host + "'s agent is too old to upload its upper "
                                                        "layer: " +
                                                     quote_host_text(command->output));
    if (is_final(command->status))
      return make_error(ErrorCode::kIo, host + "'s agent could not upload its upper layer: " +
                                            quote_host_text(command->output));
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

// What the capture changes over the commit the host booted, from the two
// stored commits: what was captured, not what the agent reported.
struct Summary {
  std::array<uint64_t, 4> counts{};   // by ChangeKind
  std::vector<std::string> security;  // every one, with why
  std::vector<std::string> others;    // the first kOtherLines
  uint64_t other_count = 0;
};

const char* letter(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kAdded: return "A";
    case ChangeKind::kModified: return "M";
    case ChangeKind::kMetadata: return "m";
    case ChangeKind::kDeleted: return "D";
  }
  return "?";
}

// "m /usr/bin/find (mode)", as `image diff` prints it, with what changed.
std::string change_line(const TreeChange& change) {
  std::string line = std::string(letter(change.kind)) + " " + escape_path(change.path);
  const Entry* before = change.old_entry;
  const Entry* after = change.new_entry;
  if (change.kind == ChangeKind::kMetadata && before && after)
    line += " (" + join(before->metadata_differences(*after), ", ") + ")";
  else if (before && after && before->type != after->type)
    line += std::string(" (") + file_type_name(before->type) + " -> " +
            file_type_name(after->type) + ")";
  return line;
}

Result<Summary> summarize(const Store& store, const Digest& lower, const Digest& commit) {
  Summary summary;
  TRY(diff_commits(store, lower, commit, [&](const TreeChange& change) {
    // As in `goldroot changes`: a directory whose mtime alone changed only
    // says that something inside it did, and that is listed.
    if (change.kind == ChangeKind::kMetadata && change.new_entry->type == FileType::kDirectory &&
        change.old_entry->metadata_differences(*change.new_entry) ==
            std::vector<std::string>{"mtime"})
      return;
    ++summary.counts[static_cast<size_t>(change.kind)];
    std::vector<std::string> reasons = security_reasons(change);
    if (!reasons.empty()) {
      summary.security.push_back(change_line(change) + "  [" + join(reasons, "; ") + "]");
      return;
    }
    if (summary.others.size() < kOtherLines) summary.others.push_back(change_line(change));
    ++summary.other_count;
  }));
  return summary;
}

void print_summary(const Summary& summary, const std::string& host, const Request& request,
                   const Digest& commit) {
  std::fprintf(stderr,
               "what the capture changes over %s, the commit %s booted: %llu added, %llu "
               "modified, %llu metadata-only, %llu deleted\n",
               short_hex(request.lower).c_str(), host.c_str(),
               static_cast<unsigned long long>(summary.counts[0]),
               static_cast<unsigned long long>(summary.counts[1]),
               static_cast<unsigned long long>(summary.counts[2]),
               static_cast<unsigned long long>(summary.counts[3]));
  if (request.expected && *request.expected != request.lower)
    std::fprintf(stderr,
                 "warning: %s is not on %s (%s) but on %s, so a promote would also bring what "
                 "differs between the two: goldroot image diff %s %s shows all of it\n",
                 host.c_str(), request.expected_source.c_str(),
                 short_hex(*request.expected).c_str(), short_hex(request.lower).c_str(),
                 short_hex(*request.expected).c_str(), short_hex(commit).c_str());
  if (summary.security.empty()) {
    std::fprintf(stderr, "no security-relevant changes (setuid, file capabilities, sudoers, "
                         "accounts, ssh keys, PAM, systemd units, cron, ld.so.preload)\n");
  } else {
    std::fprintf(stderr,
                 "%zu security-relevant change(s); read them before the capture reaches other "
                 "machines:\n",
                 summary.security.size());
    for (const std::string& line : summary.security) std::fprintf(stderr, "  ! %s\n", line.c_str());
  }
  if (summary.other_count == 0) return;
  std::fprintf(stderr, "other changes:\n");
  for (const std::string& line : summary.others) std::fprintf(stderr, "    %s\n", line.c_str());
  if (summary.other_count > summary.others.size())
    std::fprintf(stderr, "    … and %llu more: goldroot image diff %s %s\n",
                 static_cast<unsigned long long>(summary.other_count - summary.others.size()),
                 short_hex(request.lower).c_str(), short_hex(commit).c_str());
}

struct Captured {
  Digest commit;
  Summary summary;
  std::optional<Digest> channel_before;  // where the channel pointed after the capture
};

// Receives the upload, checks it, captures and exports it. Whatever
// happens, the upload and its unpacked copy are gone when this returns.
Result<Captured> receive_and_capture(Context& context, const CaptureHostOptions& options,
                                     const Request& request) {
  const std::string prefix = request.uploads_dir + "/" + std::to_string(request.id);
  const std::string archive = prefix + ".tar";          // where the server stores the upload
  const std::string claimed = prefix + ".capture.tar";  // where no later upload replaces it
  const std::string upper = prefix + ".upper";
  // The upload is large and can be asked for again: never keep it.
  ScopeGuard remove_uploads([&] {
    ::unlink(archive.c_str());
    ::unlink(claimed.c_str());
  });
  UploadAnswer sent = TRY(wait_for_upload(options.host, request, options.wait_seconds));
  // The server puts a repeated upload of this request at `archive`: what is
  // checked must be what is unpacked, so check and unpack another name.
  Status taken = context.env->rename(archive, claimed);
  if (!taken.ok() && taken.error().code == ErrorCode::kNotFound)
    return make_error(ErrorCode::kNotFound, options.host + "'s agent says it uploaded, but there "
                                                           "is no upload at " + archive +
                                                           "; nothing was captured");
  if (!taken.ok()) return std::move(taken).error().with_context("taking the upload");
  uint64_t size = 0;
  auto digest = sha256_of_file(claimed, &size);
  if (!digest.ok())
    return make_error(ErrorCode::kIo,
                      "the upload " + claimed + " cannot be read: " + digest.error().message);
  if (*digest != sent.sha256 || size != sent.bytes)
    return make_error(ErrorCode::kCorruption,
                      "the upload (" + std::to_string(size) + " bytes, sha256 " + digest->hex() +
                          ") is not what " + options.host + " says it sent (" +
                          std::to_string(sent.bytes) + " bytes, sha256 " + sent.sha256.hex() +
                          "), so it was removed and nothing was captured");
  std::fprintf(stderr, "received %s from %s (%llu entries, sha256 %s)\n",
               human_bytes(size).c_str(), options.host.c_str(),
               static_cast<unsigned long long>(sent.entries), digest->hex().c_str());
  if (!sent.changed_while_read.empty()) {
    std::vector<std::string> paths(
        sent.changed_while_read.begin(),
        sent.changed_while_read.begin() +
            static_cast<std::ptrdiff_t>(std::min(kWarnedPaths, sent.changed_while_read.size())));
    if (paths.size() < sent.changed_while_read.size()) paths.push_back("…");
    std::fprintf(stderr, "warning: %zu file(s) changed on %s while they were read, and are "
                         "captured as read: %s\n",
                 sent.changed_while_read.size(), options.host.c_str(),
                 printable(join(paths, ", ")).c_str());
  }

  auto site = TRY(context.open_site(LockMode::kExclusive, "capture --host " + options.host));
  if (::mkdir(upper.c_str(), 0700) != 0) return errno_error("creating " + upper, errno);
  ScopeGuard remove_upper([&] {
    (void)reset_upper(upper, std::nullopt);
    ::rmdir(upper.c_str());
  });
  TRY(unpack_upper_archive(claimed, upper));
  if (!options.keep_ignored) {
    IgnoreList ignore = TRY(IgnoreList::load_or_defaults(site->root() + "/changes-ignore"));
    std::vector<std::string> dropped = TRY(discard_ignored(upper, ignore));
    if (!dropped.empty())
      std::fprintf(stderr,
                   "left out %zu ignored path(s) (boot noise; --keep-ignored keeps them): %s\n",
                   dropped.size(), printable(join(dropped, ", ")).c_str());
  }
  CaptureOptions capture_options{options.name,
                                 options.message.empty() ? "captured from " + options.host
                                                         : options.message,
                                 XattrNamespace::kTrusted};
  CaptureResult result = TRY(capture(site->store(), request.lower, upper, capture_options));
  std::fprintf(stderr, "captured %llu entries onto %s, %s; stored %llu files (%s new)\n",
               static_cast<unsigned long long>(result.stats.entries),
               short_hex(request.lower).c_str(), human_bytes(result.stats.size).c_str(),
               static_cast<unsigned long long>(result.stats.files_hashed),
               human_bytes(result.stats.bytes_written).c_str());
  // Laid out on the export of what it was captured from, so that clients
  // holding that fetch about what changed.
  ExportedImage exported =
      TRY(export_image(*site, result.commit, ExportFormat::kErofs, ErofsBuilder::kNative,
                       TRY(find_base_export(site->store(), site->exports_dir(), result.commit))));
  if (!exported.artifact.base_note.empty())
    std::fprintf(stderr, "export: %s.\n", exported.artifact.base_note.c_str());
  if (!exported.manifest)
    std::fprintf(stderr, "warning: the capture cannot boot: %s\n", exported.unbootable.c_str());
  Captured captured;
  captured.commit = result.commit;
  captured.summary = TRY(summarize(site->store(), request.lower, result.commit));
  if (!options.channel.empty()) {
    Store& store = site->store();
    captured.channel_before =
        TRY(read_channel(context.env, store.refs(), store.dir(), options.channel));
  }
  return captured;
}

enum class Answer { kYes, kNo, kNoTerminal };

// Asks on the terminal; anything but y or yes is no.
Answer ask(const std::string& question) {
  if (!::isatty(STDIN_FILENO) || !::isatty(STDERR_FILENO)) return Answer::kNoTerminal;
  std::fprintf(stderr, "%s [y/N] ", question.c_str());
  std::fflush(stderr);
  char line[64];
  if (!std::fgets(line, sizeof line, stdin)) {
    std::fputc('\n', stderr);
    return Answer::kNo;
  }
  std::string answer = lowercase(trim(line));
  return answer == "y" || answer == "yes" ? Answer::kYes : Answer::kNo;
}

Status move_channel(Context& context, const CaptureHostOptions& options, const Digest& commit) {
  auto site = TRY(context.open_site(LockMode::kExclusive, "capture --host " + options.host));
  Store& store = site->store();
  if (TRY(read_channel(context.env, store.refs(), store.dir(), options.channel)) != commit)
    TRY(set_channel(store, options.channel, commit, current_user(),
                    "capture --host " + options.host));
  return {};
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
  Captured captured = TRY(receive_and_capture(context, options, request));
  print_summary(captured.summary, options.host, request, captured.commit);
  // The image exists from here on, whatever becomes of the channel.
  std::printf("%s\n", captured.commit.hex().c_str());
  std::fflush(stdout);
  if (options.channel.empty()) return 0;

  const std::string& channel = options.channel;
  const std::string by_hand = "goldroot channel set " + channel + " " + captured.commit.hex();
  if (captured.channel_before == captured.commit) {
    std::fprintf(stderr, "%s already points at %s\n", channel.c_str(),
                 short_hex(captured.commit).c_str());
    return 0;
  }
  if (options.confirm == Confirm::kAsk) {
    Answer answer = ask("Move channel " + channel + " to " + short_hex(captured.commit) + "?");
    if (answer == Answer::kNoTerminal)
      return make_error(ErrorCode::kInvalidArgument,
                        "channel " + channel + " was not moved, as there is no terminal to ask "
                        "on and no --yes; the capture is kept as image " + options.name +
                        ", and '" + by_hand + "' moves the channel");
    if (answer == Answer::kNo) {
      std::fprintf(stderr, "channel %s was not moved; the capture is kept as image %s, and '%s' "
                           "moves the channel\n",
                   channel.c_str(), options.name.c_str(), by_hand.c_str());
      return 1;
    }
  }
  Status moved = move_channel(context, options, captured.commit);
  if (!moved.ok())
    return std::move(moved).error().with_context("the capture is kept as image " + options.name +
                                                 ", but channel " + channel + " was not moved ('" +
                                                 by_hand + "' moves it)");
  std::fprintf(stderr, "%s -> %s; what a promote would change: goldroot image diff gold %s\n",
               channel.c_str(), short_hex(captured.commit).c_str(), channel.c_str());
  return 0;
}

}  // namespace goldroot::cli

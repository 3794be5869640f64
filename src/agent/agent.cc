#include "agent/agent.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "agent/prefetch_order.h"
#include "agent/transport.h"
#include "base/json.h"
#include "base/strings.h"
#include "crypto/host_signature.h"
#include "crypto/tls_pin.h"
#include "overlay/content_diff.h"
#include "overlay/lower.h"
#include "overlay/upper_archive.h"
#include "base/hash.h"

namespace goldroot::agent {

namespace {

constexpr size_t kMaxCommandOutput = 256 * 1024;

int64_t boottime_ms() {
  timespec now;
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000;
}

// The host's key (goldroot-boot puts it at /etc/goldroot/host.key, 0600).
// Read for every use, so a rekeyed host's next boot is all it takes.
Result<SigningKey> read_host_key(const std::string& path) {
  std::ifstream in(path);
  if (!in) return errno_error("reading the host key " + path, errno);
  std::stringstream text;
  text << in.rdbuf();
  return SigningKey::from_pem(text.str()).context("the host key " + path);
}

// Runs `command` with /bin/sh; its exit status, or -1.
int run_shell(const std::string& command) {
  pid_t child = ::fork();
  if (child == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (child < 0) return -1;
  int status = 0;
  while (::waitpid(child, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

Agent::Agent(AgentOptions options, BootState boot, Spool spool, std::string tls_pin)
    : options_(std::move(options)), boot_(std::move(boot)), spool_(std::move(spool)),
      tls_pin_(std::move(tls_pin)), random_(std::random_device{}()) {}

Result<Agent> Agent::open(AgentOptions options) {
  BootState boot = TRY(read_boot_state(options.boot_state));
  if (!options.server.empty()) boot.server = options.server;
  if (boot.server.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      options.boot_state + " names no server; pass --server URL");
  if (options.interval_seconds < 1)
    return make_error(ErrorCode::kInvalidArgument, "--interval must be at least 1 second");
  std::string pin_file = options.tls_pin_file;
  if (pin_file.empty())
    pin_file = options.boot_state.substr(0, options.boot_state.rfind('/') + 1) + "tls.pin";
  std::string pin = TRY(read_tls_pin_file(pin_file));
  // Refused here, once, rather than at every report: nothing could be sent.
  if (is_https_url(boot.server) && pin.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      refusal_without_pin(boot.server) + " (" + pin_file + " is missing)");
  Spool spool = TRY(Spool::open(options.spool_dir, options.spool_limit));
  std::string run_dir = options.boot_state.substr(0, options.boot_state.rfind('/') + 1);
  std::string site_key_file = !options.site_key_file.empty() ? options.site_key_file
                              : !boot.site_key.empty()        ? boot.site_key
                                                              : run_dir + "site.pub";
  PrefetchConfig prefetch{.blockd_program = options.blockd_program,
                          .cache_dir = boot.cache_dir,
                          .status_path = run_dir + "prefetch.json",
                          .log_path = run_dir + "prefetch.log",
                          .server = boot.server,
                          .mirrors = boot.servers,
                          .tls_pin_file = pin.empty() ? "" : pin_file};
  Agent agent(std::move(options), std::move(boot), std::move(spool), std::move(pin));
  agent.prefetcher_ = std::make_unique<Prefetcher>(std::move(prefetch));
  // Without the site key no pre-fetch order can be believed; reports go on.
  std::ifstream key_in(site_key_file);
  std::stringstream key_text;
  key_text << key_in.rdbuf();
  auto site_key = key_in ? VerifyKey::from_pem(key_text.str())
                         : Result<VerifyKey>(errno_error("reading " + site_key_file, ENOENT));
  if (site_key.ok()) agent.site_key_ = std::move(site_key).value();
  else agent.site_key_problem_ = "no site key to check it with (" + site_key.error().message + ")";
  // Continue above what an earlier agent process of this boot spooled.
  auto pending = agent.spool_.pending();
  if (pending.ok() && !pending->empty())
    agent.last_sequence_ = std::strtoll(pending->back().c_str(), nullptr, 10);
  return agent;
}

PostOutcome Agent::post_to_site(const std::function<PostOutcome(const std::string&)>& post) {
  PostOutcome outcome = post(boot_.server);
  if (outcome.status != 0) return outcome;
  // No answer: the site's other servers, in order; the first that answers
  // is where reports go from now on (the silent one joins the others).
  for (size_t i = 0; i < boot_.servers.size(); ++i) {
    PostOutcome other = post(boot_.servers[i]);
    if (other.status == 0) continue;
    log(boot_.server + " does not answer (" + outcome.failure + "); reporting to " +
        boot_.servers[i] + " instead");
    std::swap(boot_.server, boot_.servers[i]);
    return other;
  }
  return outcome;
}

void Agent::log(const std::string& line) const {
  std::fprintf(stderr, "goldroot-agent: %s\n", line.c_str());
}

int64_t Agent::next_sequence() {
  // Milliseconds since boot keep increasing across agent restarts within
  // a boot, which is what the server's replay check needs.
  last_sequence_ = std::max(last_sequence_ + 1, boottime_ms());
  return last_sequence_;
}

Status Agent::make_report(const std::string& event) {
  Report report = TRY(probe(boot_, options_.paths));
  report.event = event;
  report.sequence = next_sequence();
  report.sent_at = ::time(nullptr);
  report.interval_seconds = options_.interval_seconds;
  report.results = std::move(results_);
  results_.clear();
  if (prefetcher_) report.prefetch = prefetcher_->state();
  size_t dropped = TRY(spool_.add(report.sequence, report.serialize()));
  if (options_.verbose) log("spooled report " + std::to_string(report.sequence) + " (" + event + ")");
  if (dropped > 0)
    log("the spool holds at most " + std::to_string(options_.spool_limit) +
        " reports; dropped the " + std::to_string(dropped) + " oldest");
  return {};
}

FlushOutcome Agent::flush() {
  FlushOutcome outcome;
  auto names = spool_.pending();
  if (!names.ok()) {
    outcome.failure = names.error().message;
    return outcome;
  }
  auto key = read_host_key(options_.key_file);
  if (!key.ok()) {
    outcome.failure = key.error().message;
    return outcome;
  }
  for (const std::string& name : *names) {
    auto body = spool_.read(name);
    if (!body.ok()) {
      outcome.failure = body.error().message;
      return outcome;
    }
    auto signature = sign_statement(*key, report_statement(*body));
    if (!signature.ok()) {
      outcome.failure = signature.error().message;
      return outcome;
    }
    PostOutcome post = post_to_site([&](const std::string& server) {
      return post_report(server, *body, *signature, options_.timeout_seconds, tls_pin_);
    });
    if (post.status == 200) {
      (void)spool_.remove(name);
      ++outcome.sent;
      auto reply = ReportReply::parse(post.body);
      if (reply.ok()) {
        report_within_seconds_ = reply->report_within_seconds;
        handle(reply->commands);
        handle_prefetch(reply->prefetch_manifest, *body, *key);
      }
      continue;
    }
    if (post.status == 400 || post.status == 409 || post.status == 413) {
      // Never acceptable, however often it is sent: a replay the server
      // already has (its answer was lost), or a malformed report.
      log("the server refused report " + name + " (HTTP " + std::to_string(post.status) +
          "): " + std::string(trim(post.body)) + "; dropped it");
      (void)spool_.remove(name);
      ++outcome.dropped;
      continue;
    }
    outcome.failure = post.status == 0 ? "cannot reach " + boot_.server + ": " + post.failure
                                       : boot_.server + " answered HTTP " +
                                             std::to_string(post.status) + ": " +
                                             std::string(trim(post.body));
    return outcome;
  }
  outcome.complete = true;
  return outcome;
}

void Agent::handle_prefetch(const std::string& order, const std::string& body,
                            const SigningKey& key) {
  if (!prefetcher_) return;
  if (order.empty()) {
    prefetcher_->pause();
    return;
  }
  auto answered = Report::parse(body);
  if (!answered.ok()) return;
  Result<BootManifest> checked =
      site_key_ ? check_prefetch_order(order, *site_key_,
                                       {.host = boot_.host,
                                        .mac = boot_.mac,
                                        .key_id = key.public_key().key_id(),
                                        .challenge = prefetch_challenge(answered->boot_id,
                                                                        answered->sequence),
                                        .booted_commit = boot_.commit,
                                        .now = ::time(nullptr)})
                : Result<BootManifest>(make_error(
                      ErrorCode::kCorruption,
                      "refused the server's pre-fetch order: " + site_key_problem_));
  if (!checked.ok()) {
    log(checked.error().message);
    prefetcher_->refuse(checked.error().message);
    return;
  }
  if (prefetch_commit_ != checked->commit.hex())
    log("pre-fetching image " + checked->commit.hex().substr(0, 12) + " for the next boot into " +
        (boot_.cache_dir.empty() ? std::string("(no data partition)") : boot_.cache_dir));
  prefetch_commit_ = checked->commit.hex();
  prefetcher_->order(*checked);
}

bool Agent::has_final_results() const {
  return std::any_of(results_.begin(), results_.end(),
                     [](const CommandResult& result) { return result.final(); });
}

void Agent::handle(const std::vector<AgentCommand>& commands) {
  for (const AgentCommand& command : commands) {
    if (finished_.count(command.id)) continue;  // its result is on its way
    bool queued = std::any_of(results_.begin(), results_.end(),
                              [&](const CommandResult& r) { return r.id == command.id; });
    if (queued) continue;
    CommandResult result = execute(command);
    if (result.final()) finished_.insert(command.id);
    results_.push_back(std::move(result));
  }
}

CommandResult Agent::execute(const AgentCommand& command) {
  using Handler = CommandResult (Agent::*)(const AgentCommand&);
  static constexpr struct {
    CommandKind kind;
    Handler run;
  } kHandlers[] = {
      {CommandKind::kRebootWhenIdle, &Agent::reboot_when_idle},
      {CommandKind::kContentDiff, &Agent::content_diff},
      {CommandKind::kUploadUpper, &Agent::upload_upper},
  };
  if (std::optional<CommandKind> kind = command.kind())
    for (const auto& handler : kHandlers)
      if (handler.kind == *kind) return (this->*handler.run)(command);
  return {command.id, command.command, CommandStatus::kUnsupported,
          "this agent does not know the command '" + command.command + "'"};
}

CommandResult Agent::reboot_when_idle(const AgentCommand& command) {
  std::vector<UserSession> users = read_users(options_.paths.utmp);
  if (!users.empty())
    return {command.id, command.command, CommandStatus::kWaiting,
            std::to_string(users.size()) + " user session(s) open; not rebooting"};
  reboot_pending_ = options_.reboot_command;
  return {command.id, command.command, CommandStatus::kDone, "rebooting: no user session is open"};
}

CommandResult Agent::content_diff(const AgentCommand& command) {
  auto failed = [&](const std::string& why) {
    return CommandResult{command.id, command.command, CommandStatus::kFailed, why};
  };
  auto lower = open_client_lower(boot_);
  if (!lower.ok()) return failed(lower.error().message);
  ChangeOptions options;
  options.xattrs = options_.paths.userxattr ? XattrNamespace::kUser : XattrNamespace::kTrusted;
  auto diff = goldroot::content_diff(**lower, boot_.upper_path, command.path, options);
  if (!diff.ok()) return failed(diff.error().message);
  std::string output = diff->substr(0, kMaxCommandOutput);
  if (diff->size() > kMaxCommandOutput) output += "\n[diff cut at 256 KiB]\n";
  return {command.id, command.command, CommandStatus::kDone, std::move(output)};
}

CommandResult Agent::upload_upper(const AgentCommand& command) {
  auto failed = [&](const std::string& why) {
    log("upload of the upper layer failed: " + why);
    return CommandResult{command.id, command.command, CommandStatus::kFailed, why};
  };
  if (boot_.upper_path.empty()) return failed("this client has no upper layer to upload");
  auto key = read_host_key(options_.key_file);
  if (!key.ok()) return failed(key.error().message);
  auto signature = sign_statement(*key, report_statement(upload_statement(command.id)));
  if (!signature.ok()) return failed(signature.error().message);
  auto archive = UpperArchive::open(
      boot_.upper_path, options_.paths.userxattr ? XattrNamespace::kUser : XattrNamespace::kTrusted);
  if (!archive.ok()) return failed(archive.error().message);
  Sha256 sha256;
  uint64_t bytes = 0;
  BodySource source = [&](char* buffer, size_t size) -> Result<size_t> {
    size_t filled = TRY(archive->read(buffer, size));
    sha256.update(buffer, filled);
    bytes += filled;
    return filled;
  };
  std::string path = command.url.empty() ? upload_path(command.id) : command.url;
  log("uploading the upper layer " + boot_.upper_path + " (" +
      std::to_string(archive->stats().entries) + " entries) to " + boot_.server + path);
  PostOutcome post = post_stream(boot_.server, path, *signature, source,
                                 options_.timeout_seconds * 4, tls_pin_);
  if (post.status == 0) return failed("cannot upload to " + boot_.server + ": " + post.failure);
  if (post.status != 200)
    return failed(boot_.server + " refused the upload (HTTP " + std::to_string(post.status) +
                  "): " + std::string(trim(post.body)));
  std::string digest = sha256.finish().hex();
  auto answer = parse_untrusted_json(post.body);
  // The server's answer is checked for its types too: a malformed one is a
  // failed upload, never an exception.
  bool matches = answer.is_object() && answer.contains("sha256") && answer["sha256"].is_string() &&
                 answer["sha256"].get<std::string>() == digest && answer.contains("bytes") &&
                 answer["bytes"].is_number_unsigned() && answer["bytes"].get<uint64_t>() == bytes;
  if (!matches)
    return failed("the server stored something else than was sent (" + std::to_string(bytes) +
                  " bytes, sha256 " + digest + "; it answered " + std::string(trim(post.body)) + ")");
  const UpperArchiveStats& stats = archive->stats();
  nlohmann::json output = {{"sha256", digest},
                           {"bytes", bytes},
                           {"entries", stats.entries},
                           {"changed_while_read", stats.changed_while_read},
                           {"skipped_sockets", stats.skipped_sockets}};
  log("uploaded " + std::to_string(bytes) + " bytes, sha256 " + digest);
  // Paths that are not UTF-8 are replaced, not thrown over.
  return {command.id, command.command, CommandStatus::kDone,
          output.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

void Agent::reboot_if_still_idle() {
  std::string command = *reboot_pending_;
  reboot_pending_.reset();
  // A user may have logged in in the moment since the command was answered:
  // a session is never cut off, even though the server already has "done".
  std::vector<UserSession> users = read_users(options_.paths.utmp);
  if (!users.empty()) {
    log("a user logged in meanwhile; not rebooting");
    return;
  }
  log("no user session is open; running: " + command);
  if (run_shell(command) != 0) log("'" + command + "' failed");
}

Status Agent::run_once() {
  TRY(make_report("start"));
  FlushOutcome outcome = flush();
  // Answer what the reply asked for right away (content-diff on demand).
  for (int round = 0; outcome.complete && !results_.empty() && round < 2; ++round) {
    TRY(make_report("result"));
    outcome = flush();
  }
  if (reboot_pending_ && outcome.complete) reboot_if_still_idle();
  if (!outcome.complete)
    return make_error(ErrorCode::kIo, outcome.failure + " (the report stays spooled in " +
                                          spool_.dir() + ")");
  return {};
}

Status Agent::run(const sigset_t& stop_signals) {
  using Seconds = double;
  auto now = [] {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
  };
  std::uniform_real_distribution<double> spread(1.0 - options_.jitter, 1.0 + options_.jitter);
  Seconds next_report = now(), next_send = now(), backoff = 0;
  std::string event = "start";
  bool failing = false;
  while (true) {
    if (now() >= next_report) {
      auto made = make_report(event);
      if (!made.ok()) log("cannot make a report: " + made.error().message);
      event = "periodic";
      next_report = now() + options_.interval_seconds * spread(random_);
      next_send = std::min(next_send, now());
    }
    if (now() >= next_send) {
      FlushOutcome outcome = flush();
      if (outcome.complete) {
        if (failing) log("reached " + boot_.server + " again; the spool is empty");
        failing = false;
        backoff = 0;
        if (report_within_seconds_ > 0)
          next_report = std::min(next_report, now() + report_within_seconds_ * spread(random_));
        next_send = next_report;
        if (has_final_results()) {
          // Results that end a command go out now, not an interval later.
          event = "result";
          next_report = now();
        } else if (reboot_pending_) {
          // Only once the server has "rebooting", so the reboot is on record.
          reboot_if_still_idle();
        }
      } else {
        if (!failing) log(outcome.failure + "; retrying with backoff, reports stay spooled");
        failing = true;
        backoff = std::min<Seconds>(backoff == 0 ? 1 : backoff * 2,
                                    static_cast<Seconds>(options_.max_backoff_seconds));
        next_send = now() + backoff * spread(random_);
      }
    }
    Seconds wake = std::min(next_report, next_send);
    Seconds wait = std::max<Seconds>(0.0, wake - now());
    timespec timeout{static_cast<time_t>(wait), static_cast<long>((wait - (time_t)wait) * 1e9)};
    int signal_number = ::sigtimedwait(&stop_signals, nullptr, &timeout);
    if (signal_number > 0) {
      // The last word: a shutting-down host is "down", not "unseen".
      auto made = make_report("shutdown");
      if (made.ok()) {
        options_.timeout_seconds = std::min(options_.timeout_seconds, 5L);
        FlushOutcome outcome = flush();
        if (!outcome.complete) log("shutting down with reports spooled: " + outcome.failure);
      }
      return {};
    }
  }
}

}  // namespace goldroot::agent

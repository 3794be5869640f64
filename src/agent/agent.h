// Agent: goldroot-agent's behaviour — make a report (probe.h), spool it
// (spool.h), send every spooled report in order with its HMAC signature
// (transport.h), act on the commands the server's reply carries, and repeat
// every `interval` seconds with jitter. A server that does not answer is
// retried with exponential backoff; nothing is lost, because a report leaves
// the spool only once the server accepted it (or refused it for good: 400,
// 409 replay, 413).
//
// Commands (report/report.h), one member function each, found by kind in
// execute()'s table: reboot-when-idle runs `reboot_command` once no user is
// logged in — never while a session is open, it answers "waiting" instead;
// content-diff answers with a unified diff of one file; upload-upper sends
// the upper layer to the server; anything else is answered "unsupported".
//
// Pre-fetch (issue #19): a reply may carry a pre-fetch order, which is
// checked against the site key (agent/prefetch_order.h) before anything is
// done with it; a verified order has the image fetched into the cache the
// next boot reads (agent/prefetcher.h), a reply without one pauses that,
// and every report says how far it got.
//
// Owns its spool; single-threaded. SIGTERM/SIGINT end run() after a final
// "shutdown" report.
#pragma once

#include <cstdint>
#include <map>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "agent/prefetcher.h"
#include "agent/probe.h"
#include "agent/transport.h"
#include "agent/spool.h"
#include "crypto/ed25519.h"
#include "report/report.h"

namespace goldroot::agent {

struct AgentOptions {
  std::string boot_state = "/run/goldroot/boot.json";
  std::string server;  // overrides the boot state's
  std::string key_file = "/etc/goldroot/host.key";
  // The server's TLS key pin (crypto/tls_pin.h), needed for an https://
  // server; "": tls.pin beside boot_state, where goldroot-boot puts it.
  std::string tls_pin_file;
  std::string spool_dir = "/run/goldroot/agent-spool";
  size_t spool_limit = 100;
  int64_t interval_seconds = 60;
  double jitter = 0.1;  // each wait is interval × (1 ± jitter)
  int64_t max_backoff_seconds = 60;
  long timeout_seconds = 15;
  std::string reboot_command = "systemctl reboot";
  // The key pre-fetch orders must be signed with; "": the boot record's
  // site_key, else site.pub beside boot_state.
  std::string site_key_file;
  // goldroot-blockd, which pre-fetches (the goldroot initrd's copy).
  std::string blockd_program = "/run/goldroot/agent/bin/goldroot-blockd";
  ProbePaths paths;
  bool verbose = false;
};

struct FlushOutcome {
  size_t sent = 0;
  size_t dropped = 0;   // refused for good
  bool complete = false;  // the spool is empty
  std::string failure;    // why it stopped early
};

class Agent {
 public:
  static Result<Agent> open(AgentOptions options);

  // Makes a report of `event` and spools it.
  Status make_report(const std::string& event);
  // Sends the spooled reports, oldest first, until one fails.
  FlushOutcome flush();
  // --once: one report, sent (with a follow-up carrying command results).
  Status run_once();
  // Until SIGTERM or SIGINT (blocked by the caller and passed here).
  Status run(const sigset_t& stop_signals);

 private:
  Agent(AgentOptions options, BootState boot, Spool spool, std::string tls_pin);
  // Acts on the pre-fetch order (or its absence) in the reply to the
  // spooled report `body`, signed with `key`.
  void handle_prefetch(const std::string& order, const std::string& body, const SigningKey& key);
  int64_t next_sequence();
  void handle(const std::vector<AgentCommand>& commands);
  CommandResult execute(const AgentCommand& command);
  CommandResult reboot_when_idle(const AgentCommand& command);
  CommandResult content_diff(const AgentCommand& command);
  CommandResult upload_upper(const AgentCommand& command);
  bool has_final_results() const;
  void reboot_if_still_idle();
  void log(const std::string& line) const;
  // `post` to the boot's server, or, when it does not answer, to the first
  // of the site's other servers that does (which then replaces it).
  PostOutcome post_to_site(const std::function<PostOutcome(const std::string&)>& post);

  AgentOptions options_;
  BootState boot_;
  Spool spool_;
  std::string tls_pin_;  // "sha256//…", or "" for a plain http server
  int64_t last_sequence_ = 0;
  std::vector<CommandResult> results_;  // for the next report
  std::set<int64_t> finished_;          // commands answered for good
  std::optional<std::string> reboot_pending_;
  std::mt19937_64 random_;
  // The last reply's report_within_seconds: 0, or how soon the server wants
  // the next report.
  int64_t report_within_seconds_ = 0;
  std::optional<VerifyKey> site_key_;
  std::string site_key_problem_;  // why there is none
  std::unique_ptr<Prefetcher> prefetcher_;
  std::string prefetch_commit_;  // the last verified order's, for the log
};

}  // namespace goldroot::agent

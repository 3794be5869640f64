// goldroot-agent: reports this client's state to the goldroot server (see
// agent/agent.h). A thin main: flags, signals, then Agent::run or run_once.
#include <curl/curl.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "agent/agent.h"

int main(int argc, char** argv) {
  using namespace goldroot;
  agent::AgentOptions options;
  bool once = false;
  CLI::App app{"Report this goldroot client's image, mode, changes and users to the server."};
  app.add_option("--boot-state", options.boot_state, "boot record (default /run/goldroot/boot.json)");
  app.add_option("--server", options.server, "server URL (default: the boot record's)");
  app.add_option("--key-file", options.key_file,
                 "this host's key, which signs its reports (default /etc/goldroot/host.key)");
  app.add_option("--tls-pin", options.tls_pin_file,
                 "the server's TLS key pin, needed for an https server (default: tls.pin beside "
                 "the boot record, /run/goldroot/tls.pin)");
  app.add_option("--spool", options.spool_dir,
                 "unsent reports (default /run/goldroot/agent-spool)");
  app.add_option("--spool-limit", options.spool_limit, "most reports kept while the server is away");
  app.add_option("--interval", options.interval_seconds, "seconds between reports (default 60)");
  app.add_option("--jitter", options.jitter, "spread of the interval, 0..0.5 (default 0.1)");
  app.add_option("--max-backoff", options.max_backoff_seconds,
                 "longest wait between retries while the server is down (default 60)");
  app.add_option("--site-key", options.site_key_file,
                 "the site's public key, which pre-fetch orders must be signed with (default: "
                 "the boot record's, /run/goldroot/site.pub)");
  app.add_option("--blockd", options.blockd_program,
                 "goldroot-blockd, which pre-fetches the next image (default "
                 "/run/goldroot/agent/bin/goldroot-blockd)");
  app.add_option("--reboot-command", options.reboot_command,
                 "how reboot-when-idle reboots (default 'systemctl reboot')");
  app.add_option("--boot-id-file", options.paths.boot_id, "source of the boot id");
  app.add_option("--uptime-file", options.paths.uptime, "source of the uptime (default /proc/uptime)");
  app.add_option("--utmp", options.paths.utmp, "utmp file listing the sessions");
  app.add_option("--dev", options.paths.dev, "device directory for input activity (default /dev)");
  app.add_option("--blockd-status", options.paths.blockd_status,
                 "goldroot-blockd's status file (default /run/goldroot/blockd.json)");
  app.add_option("--ignore-file", options.paths.ignore_file,
                 "ignore list (default /etc/goldroot/changes-ignore, else built-in)");
  app.add_flag("--userxattr", options.paths.userxattr, "the overlay was mounted with userxattr");
  app.add_flag("-v,--verbose", options.verbose, "log every report made");
  app.add_flag("--once", once, "send one report and exit (non-zero if it could not be sent)");
  // Settings a site hands its hosts through a configuration layer, e.g.
  // "interval = 10" for a lab; flags given here win.
  app.set_config("--config", "/etc/goldroot/agent.conf",
                 "settings file, one 'option = value' a line (default /etc/goldroot/agent.conf)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  if (options.jitter < 0 || options.jitter > 0.5) {
    std::fprintf(stderr, "error: --jitter must be between 0 and 0.5\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  auto agent = agent::Agent::open(options);
  if (!agent.ok()) {
    std::fprintf(stderr, "error: %s\n", agent.error().message.c_str());
    return 1;
  }
  Status status = once ? agent->run_once() : agent->run(stop_signals);
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", status.error().message.c_str());
    return 1;
  }
  return 0;
}

// DnsmasqSupervisor runs dnsmasq for `goldroot serve --dhcp proxy|full`:
// it writes the generated configuration (see dnsmasq_config.h), starts
// `dnsmasq --keep-in-foreground --conf-file=…`, restarts it with backoff when
// it dies, applies inventory changes, and stops it cleanly.
//
// Applying changes (update):
//   - only the hosts file changed (hosts added, removed, re-addressed): the
//     file is replaced atomically and dnsmasq gets SIGHUP, which re-reads
//     dhcp-hostsfile without dropping a lease or a TFTP transfer — unless
//     a line sets a tag (Secure Boot's set:shim): dnsmasq 2.90 was seen to
//     crash re-reading such a file, so it gets the restart below;
//   - the main configuration changed (mode, networks, interfaces, URL): the
//     new file is first checked with `dnsmasq --test`, so a bad one leaves the
//     running dnsmasq alone, then dnsmasq is restarted (SIGHUP does not
//     re-read the main file).
//
// Startup failures come back as one sentence built from dnsmasq's own
// message: a missing binary says to install the package; a port another
// DHCP or TFTP server holds is a Busy error naming it.
//
// dnsmasq outlives a goldroot killed with SIGKILL (it drops privileges,
// which clears PR_SET_PDEATHSIG); the next start() finds it through the pid
// file, recognises it by its --conf-file and stops it first. Public methods
// are thread-safe. Destruction stops dnsmasq.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/result.h"
#include "netboot/dnsmasq_config.h"

namespace goldroot::netboot {

inline constexpr char kDnsmasqPath[] = "/usr/sbin/dnsmasq";

struct DnsmasqSupervisorOptions {
  std::string dnsmasq_path = kDnsmasqPath;
  std::string config_path;  // where the generated main file is written
  std::string output_path;  // dnsmasq's stdout and stderr (startup errors land here)
  std::chrono::milliseconds startup_timeout{10000};
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds max_backoff{30000};
  // A dnsmasq that ran this long before dying restarts after first_backoff again.
  std::chrono::milliseconds stable_after{30000};
  // One line per event (started, exited, restarting); default: stderr.
  std::function<void(const std::string&)> log;
};

// Points every file of `settings` and `options` into `directory` (the
// site's dnsmasq/): tftp/, hosts, dnsmasq.conf, dnsmasq.pid, leases,
// dnsmasq.log, dnsmasq.out. The directory must be searchable by the user
// dnsmasq drops to (nobody by default), which re-reads hosts on SIGHUP.
void use_directory(const std::string& directory, DnsmasqSettings* settings,
                   DnsmasqSupervisorOptions* options);

// Runs `dnsmasq --test` on a configuration file; the error carries
// dnsmasq's complaint.
Status check_dnsmasq_config(const std::string& dnsmasq_path, const std::string& config_path);

class DnsmasqSupervisor {
 public:
  enum class Change { kNone, kReloaded, kRestarted };

  // Writes the files and starts dnsmasq; returns once dnsmasq has written
  // its pid file (its sockets are bound) or with its startup error.
  static Result<std::unique_ptr<DnsmasqSupervisor>> start(const DnsmasqSettings& settings,
                                                          DnsmasqSupervisorOptions options);
  ~DnsmasqSupervisor();
  DnsmasqSupervisor(const DnsmasqSupervisor&) = delete;
  DnsmasqSupervisor& operator=(const DnsmasqSupervisor&) = delete;

  // Regenerates the files from `settings` and applies them as described above.
  Result<Change> update(const DnsmasqSettings& settings);

  // Stops dnsmasq (SIGTERM, SIGKILL after 5 s) and the supervising thread.
  void stop();

  // The running dnsmasq's pid, or 0 between a death and its restart.
  pid_t pid() const;
  // How many times dnsmasq was started after an unexpected exit.
  int restarts() const;

 private:
  DnsmasqSupervisor(DnsmasqSettings settings, DnsmasqFiles files, DnsmasqSupervisorOptions options);

  void run();
  // Forks and execs dnsmasq and waits until it is ready or gone.
  Status spawn_and_wait_ready();
  void wait_for_exit(std::unique_lock<std::mutex>& lock);
  Status restart_and_wait(std::unique_lock<std::mutex>& lock);

  DnsmasqSettings settings_;
  DnsmasqFiles files_;
  DnsmasqSupervisorOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  pid_t pid_ = 0;
  bool stopping_ = false;
  bool restart_requested_ = false;
  int restarts_ = 0;
  // Bumped after every start attempt, with its outcome, for start()/update().
  uint64_t generation_ = 0;
  Status last_start_;
  std::thread thread_;
};

}  // namespace goldroot::netboot

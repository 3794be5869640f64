#include "netboot/dnsmasq_supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/strings.h"
#include "sys/env.h"

namespace goldroot::netboot {

namespace {

using Clock = std::chrono::steady_clock;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Written beside, synced and renamed over (sys/env.h), so dnsmasq never
// reads half a file, even after a crash.
Status write_text_atomic(const std::string& path, const std::string& text) {
  TRY(PosixEnv().write_file_atomic(path, text));
  // dnsmasq re-reads the hosts file after dropping privileges.
  ::chmod(path.c_str(), 0644);
  return ok_status();
}

// dnsmasq's own complaint: its last "dnsmasq: …" line, else its last line.
std::string complaint_in(const std::string& output) {
  std::string last;
  std::string last_prefixed;
  for (const auto& raw : split(output, '\n')) {
    std::string line(trim(raw));
    if (line.empty()) continue;
    last = line;
    if (starts_with(line, "dnsmasq: ")) last_prefixed = line.substr(9);
  }
  return last_prefixed.empty() ? last : last_prefixed;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

Error startup_error(const std::string& output, int status) {
  std::string complaint = complaint_in(output);
  if (complaint.find("in use") != std::string::npos)
    return make_error(ErrorCode::kBusy,
                      "dnsmasq could not start: " + complaint +
                          " (another DHCP or TFTP server holds the port; stop it first)");
  if (complaint.empty())
    return make_error(ErrorCode::kIo, "dnsmasq exited at startup with " + describe_status(status));
  return make_error(ErrorCode::kIo, "dnsmasq could not start: " + complaint);
}

Status check_binary(const std::string& dnsmasq_path) {
  if (::access(dnsmasq_path.c_str(), X_OK) != 0)
    return make_error(ErrorCode::kNotFound, "dnsmasq is not installed at " + dnsmasq_path +
                                                "; install it (apt-get install dnsmasq)");
  return ok_status();
}

// Runs `argv` with output into `output_path`; returns its wait status.
Result<int> run_and_wait(const std::vector<std::string>& argv, const std::string& output_path) {
  std::vector<char*> pointers;
  for (const auto& arg : argv) pointers.push_back(const_cast<char*>(arg.c_str()));
  pointers.push_back(nullptr);
  pid_t child = ::fork();
  if (child < 0) return errno_error("fork", errno);
  if (child == 0) {
    int fd = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::execv(pointers[0], pointers.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// A dnsmasq left behind by a goldroot that was killed (it drops its
// privileges, which clears PR_SET_PDEATHSIG, so it cannot be tied to us):
// found through the pid file and recognised by its command line.
void stop_stale_instance(const std::string& pid_file, const std::string& config_path) {
  uint64_t pid = 0;
  if (!parse_uint64(trim(read_text(pid_file)), &pid) || pid < 2) return;
  std::string command_line = read_text("/proc/" + std::to_string(pid) + "/cmdline");
  if (command_line.find(std::string("--conf-file=") + config_path + '\0') == std::string::npos)
    return;
  ::kill(static_cast<pid_t>(pid), SIGTERM);
  for (int i = 0; i < 100 && ::kill(static_cast<pid_t>(pid), 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::kill(static_cast<pid_t>(pid), SIGKILL);
}

}  // namespace

void use_directory(const std::string& directory, DnsmasqSettings* settings,
                   DnsmasqSupervisorOptions* options) {
  settings->tftp_root = directory + "/tftp";
  settings->hosts_file = directory + "/hosts";
  settings->pid_file = directory + "/dnsmasq.pid";
  settings->lease_file = directory + "/leases";
  settings->log_file = directory + "/dnsmasq.log";
  options->config_path = directory + "/dnsmasq.conf";
  options->output_path = directory + "/dnsmasq.out";
}

Status check_dnsmasq_config(const std::string& dnsmasq_path, const std::string& config_path) {
  TRY(check_binary(dnsmasq_path));
  std::string output_path = config_path + ".test-output";
  int status =
      TRY(run_and_wait({dnsmasq_path, "--test", "--conf-file=" + config_path}, output_path));
  std::string output = read_text(output_path);
  ::unlink(output_path.c_str());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok_status();
  return make_error(ErrorCode::kInvalidArgument,
                    "dnsmasq rejects " + config_path + ": " + complaint_in(output));
}

DnsmasqSupervisor::DnsmasqSupervisor(DnsmasqSettings settings, DnsmasqFiles files,
                                     DnsmasqSupervisorOptions options)
    : settings_(std::move(settings)), files_(std::move(files)), options_(std::move(options)) {
  if (!options_.log)
    options_.log = [](const std::string& line) {
      std::fprintf(stderr, "goldroot: %s\n", line.c_str());
    };
}

namespace {

// Unless it runs as root, dnsmasq drops its privileges before it opens its
// log, hosts file and TFTP root: every directory above them must be
// searchable by others, or it dies at startup without a word.
Status check_reachable_by_dnsmasq(const std::string& directory) {
  std::string path = directory;
  while (!path.empty() && path != "/") {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IXOTH) == 0)
      return make_error(ErrorCode::kPermissionDenied,
                        "dnsmasq drops its privileges and then cannot reach " + directory +
                            ", because " + path + " is not searchable by others; run 'chmod o+x " +
                            path + "' or keep the site elsewhere");
    path = path.substr(0, path.rfind('/'));
  }
  return ok_status();
}

}  // namespace

Result<std::unique_ptr<DnsmasqSupervisor>> DnsmasqSupervisor::start(
    const DnsmasqSettings& settings, DnsmasqSupervisorOptions options) {
  TRY(check_binary(options.dnsmasq_path));
  if (options.config_path.empty() || options.output_path.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      "the dnsmasq supervisor needs a config path and an output path");
  DnsmasqFiles files = TRY(render_dnsmasq(settings));
  if (settings.user != "root") {
    size_t slash = settings.pid_file.rfind('/');
    if (slash != std::string::npos && slash > 0)
      TRY(check_reachable_by_dnsmasq(settings.pid_file.substr(0, slash)));
  }
  stop_stale_instance(settings.pid_file, options.config_path);
  TRY(write_text_atomic(settings.hosts_file, files.hosts));
  TRY(write_text_atomic(options.config_path, files.config));
  TRY(check_dnsmasq_config(options.dnsmasq_path, options.config_path));

  std::unique_ptr<DnsmasqSupervisor> supervisor(
      new DnsmasqSupervisor(settings, std::move(files), std::move(options)));
  std::unique_lock lock(supervisor->mutex_);
  supervisor->thread_ = std::thread([raw = supervisor.get()] { raw->run(); });
  supervisor->changed_.wait(lock, [&] { return supervisor->generation_ > 0; });
  Status first = supervisor->last_start_;
  lock.unlock();
  if (!first.ok()) {
    supervisor->stop();
    return std::move(first).error();
  }
  return supervisor;
}

DnsmasqSupervisor::~DnsmasqSupervisor() { stop(); }

Status DnsmasqSupervisor::spawn_and_wait_ready() {
  const std::string& pid_file = settings_.pid_file;
  ::unlink(pid_file.c_str());  // a stale one would look like readiness
  std::vector<std::string> argv = {options_.dnsmasq_path, "--keep-in-foreground",
                                   "--conf-file=" + options_.config_path};
  std::vector<char*> pointers;
  for (const auto& arg : argv) pointers.push_back(const_cast<char*>(arg.c_str()));
  pointers.push_back(nullptr);
  const char* output_path = options_.output_path.c_str();

  pid_t child = ::fork();
  if (child < 0) return errno_error("starting dnsmasq: fork", errno);
  if (child == 0) {
    // Only async-signal-safe calls: the parent has other threads.
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);  // goldroot blocks SIGTERM for sigwait
    ::signal(SIGPIPE, SIG_DFL);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    int fd = ::open(output_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::close_range(3, ~0U, 0);
    ::execv(pointers[0], pointers.data());
    ::_exit(127);
  }
  {
    std::lock_guard lock(mutex_);
    pid_ = child;
    if (stopping_) ::kill(child, SIGTERM);
  }

  auto deadline = Clock::now() + options_.startup_timeout;
  std::string expected = std::to_string(child);
  while (true) {
    int status = 0;
    pid_t reaped = ::waitpid(child, &status, WNOHANG);
    if (reaped == child) {
      {
        std::lock_guard lock(mutex_);
        pid_ = 0;
        changed_.notify_all();
      }
      return startup_error(read_text(options_.output_path), status);
    }
    if (std::string(trim(read_text(pid_file))) == expected) return ok_status();
    if (Clock::now() > deadline) {
      ::kill(child, SIGKILL);
      while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
      }
      std::lock_guard lock(mutex_);
      pid_ = 0;
      return make_error(ErrorCode::kIo,
                        "dnsmasq did not write its pid file " + pid_file + " within " +
                            std::to_string(options_.startup_timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void DnsmasqSupervisor::run() {
  auto backoff = options_.first_backoff;
  while (true) {
    auto started_at = Clock::now();
    Status started = spawn_and_wait_ready();
    std::unique_lock lock(mutex_);
    last_start_ = started;
    ++generation_;
    changed_.notify_all();
    if (started.ok()) {
      pid_t child = pid_;
      options_.log("dnsmasq started (pid " + std::to_string(child) + ")");
      lock.unlock();
      // Wait for the exit without reaping, so that kill() under the mutex
      // can never hit a recycled pid.
      siginfo_t info{};
      while (::waitid(P_PID, child, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
      }
      lock.lock();
      int status = 0;
      ::waitpid(child, &status, 0);
      pid_ = 0;
      changed_.notify_all();
      if (stopping_) return;
      if (restart_requested_) {
        restart_requested_ = false;
        backoff = options_.first_backoff;
        continue;
      }
      if (Clock::now() - started_at >= options_.stable_after) backoff = options_.first_backoff;
      options_.log("dnsmasq exited with " + describe_status(status) + "; restarting in " +
                   std::to_string(backoff.count()) + " ms");
    } else {
      if (stopping_) return;
      if (generation_ > 1)
        options_.log(started.error().message + "; retrying in " + std::to_string(backoff.count()) +
                     " ms");
    }
    changed_.wait_for(lock, backoff, [&] { return stopping_ || restart_requested_; });
    if (stopping_) return;
    if (!restart_requested_) {
      ++restarts_;
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
    restart_requested_ = false;
  }
}

Result<DnsmasqSupervisor::Change> DnsmasqSupervisor::update(const DnsmasqSettings& settings) {
  DnsmasqFiles files = TRY(render_dnsmasq(settings));
  std::unique_lock lock(mutex_);
  if (stopping_) return make_error(ErrorCode::kInvalidArgument, "dnsmasq supervisor is stopped");
  // dnsmasq 2.90 was seen to crash re-reading a hosts file whose lines set
  // tags (Secure Boot's set:shim) on SIGHUP; such a file gets a restart.
  bool tagged = files.hosts.find(",set:") != std::string::npos ||
                files_.hosts.find(",set:") != std::string::npos;
  if (files.config == files_.config && files.hosts == files_.hosts) return Change::kNone;
  if (files.config == files_.config && !tagged) {
    TRY(write_text_atomic(settings.hosts_file, files.hosts));
    files_.hosts = std::move(files.hosts);
    settings_ = settings;
    if (pid_ > 0) ::kill(pid_, SIGHUP);
    options_.log("dnsmasq re-reads its hosts file");
    return Change::kReloaded;
  }

  // Check the new main file before touching the running dnsmasq.
  std::string candidate = options_.config_path + ".new";
  TRY(write_text_atomic(candidate, files.config));
  if (Status checked = check_dnsmasq_config(options_.dnsmasq_path, candidate); !checked.ok()) {
    ::unlink(candidate.c_str());
    return std::move(checked).error();
  }
  TRY(write_text_atomic(settings.hosts_file, files.hosts));
  TRY(PosixEnv().publish_file(candidate, options_.config_path));
  files_ = std::move(files);
  settings_ = settings;
  uint64_t before = generation_;
  restart_requested_ = true;
  if (pid_ > 0) ::kill(pid_, SIGTERM);
  changed_.notify_all();
  options_.log("dnsmasq restarts for its new configuration");
  changed_.wait(lock, [&] { return generation_ > before || stopping_; });
  if (stopping_) return make_error(ErrorCode::kInvalidArgument, "dnsmasq supervisor is stopped");
  if (!last_start_.ok()) return Status(last_start_).error();
  return Change::kRestarted;
}

void DnsmasqSupervisor::stop() {
  std::unique_lock lock(mutex_);
  if (!thread_.joinable()) return;
  stopping_ = true;
  if (pid_ > 0) ::kill(pid_, SIGTERM);
  changed_.notify_all();
  if (!changed_.wait_for(lock, std::chrono::seconds(5), [&] { return pid_ == 0; }))
    if (pid_ > 0) ::kill(pid_, SIGKILL);
  std::thread thread = std::move(thread_);
  lock.unlock();
  thread.join();
  ::unlink(settings_.pid_file.c_str());
}

pid_t DnsmasqSupervisor::pid() const {
  std::lock_guard lock(mutex_);
  return pid_;
}

int DnsmasqSupervisor::restarts() const {
  std::lock_guard lock(mutex_);
  return restarts_;
}

}  // namespace goldroot::netboot

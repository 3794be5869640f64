#include "agent/prefetcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "base/hash.h"
#include "base/strings.h"
#include "boot/blockd_launch.h"
#include "boot/image_cache_dir.h"
#include "sys/unique_fd.h"

namespace goldroot::agent {

namespace {

constexpr uint64_t kBlockSize = 4096;  // goldroot-blockd's cache unit

// The manifest's URLs are absolute paths on the server that issued it.
std::string resolve(std::string server, const std::string& url) {
  if (url.find("://") != std::string::npos) return url;
  while (!server.empty() && server.back() == '/') server.pop_back();
  return server + (url.starts_with("/") ? "" : "/") + url;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

uint64_t number_at(const nlohmann::json& json, const char* key) {
  auto found = json.find(key);
  return found != json.end() && found->is_number_unsigned() ? found->get<uint64_t>() : 0;
}

}  // namespace

Prefetcher::~Prefetcher() { stop(); }

std::string Prefetcher::cache_path(const std::string& suffix) const {
  return config_.cache_dir + "/" + manifest_->image.verity->params.root_hash.hex() + suffix;
}

std::string Prefetcher::whole_copy_path() const {
  return config_.cache_dir + "/" + manifest_->image.sha256.hex() + "." + manifest_->image.format;
}

void Prefetcher::order(const BootManifest& manifest) {
  const Digest& root = manifest.image.verity->params.root_hash;
  bool same = manifest_ && manifest_->image.verity->params.root_hash == root;
  if (!same) {
    stop();
    // The previous order's image (never the running one: an order for
    // that is refused) makes room for this one.
    if (manifest_ && !config_.cache_dir.empty())
      for (const char* suffix : {".image", ".map", ".readset"}) ::unlink(cache_path(suffix).c_str());
    manifest_ = manifest;
    complete_ = false;
  }
  state_ = PrefetchState{.commit = manifest.commit.hex(), .root_hash = root.hex(), .state = "fetching"};
  if (complete_) {
    state_.state = "complete";
    return;
  }
  if (child_ > 0) return;  // under way
  if (config_.cache_dir.empty()) {
    state_.state = "failed";
    state_.error = "this machine has no data partition to keep the next image on";
    return;
  }
  // A whole copy made earlier (an agent restarted since): goldroot-boot
  // checks its sha256 before it uses it.
  struct stat whole;
  if (manifest.host && manifest.host->fetch == "full" &&
      ::stat(whole_copy_path().c_str(), &whole) == 0 &&
      static_cast<uint64_t>(whole.st_size) == manifest.image.size) {
    complete_ = true;
    state_.state = "complete";
    return;
  }
  start();
}

void Prefetcher::start() {
  std::vector<std::string> arguments = {
      config_.blockd_program,
      "--prefetch",
      "--cache-dir", config_.cache_dir,
      "--image-url", resolve(config_.server, manifest_->image.url.empty()
                                                 ? "/images/" + manifest_->image.sha256.hex() + "." +
                                                       manifest_->image.format
                                                 : manifest_->image.url),
      "--tree-url", resolve(config_.server, manifest_->image.verity->tree_url),
      "--status", config_.status_path};
  for (std::string& argument : boot::blockd_verity_arguments(*manifest_->image.verity))
    arguments.push_back(std::move(argument));
  if (!config_.tls_pin_file.empty())
    arguments.insert(arguments.end(), {"--tls-pin", config_.tls_pin_file});
  for (const std::string& mirror : config_.mirrors) arguments.insert(arguments.end(), {"--mirror", mirror});
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  pid_t child = ::fork();
  if (child == 0) {
    // The agent blocks SIGTERM for sigtimedwait; the fetch must die of it.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Behind everything the machine's user does, disk included.
    (void)::setpriority(PRIO_PROCESS, 0, 19);
    constexpr int kIoprioWhoProcess = 1, kIoprioClassIdle = 3, kIoprioClassShift = 13;
    (void)::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, kIoprioClassIdle << kIoprioClassShift);
    int null = ::open("/dev/null", O_RDWR);
    int log = ::open(config_.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
    }
    if (log >= 0) ::dup2(log, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    std::string message = "goldroot-blockd: error: cannot run " + config_.blockd_program + ": " +
                          std::strerror(errno) + "\n";
    (void)!::write(STDERR_FILENO, message.data(), message.size());
    ::_exit(127);
  }
  if (child < 0) {
    state_.state = "failed";
    state_.error = errno_error("starting " + config_.blockd_program, errno).message;
    return;
  }
  child_ = child;
  state_.state = "fetching";
}

void Prefetcher::stop() {
  if (child_ <= 0) return;
  ::kill(child_, SIGTERM);
  int status = 0;
  while (::waitpid(child_, &status, 0) < 0 && errno == EINTR) {
  }
  child_ = -1;
}

void Prefetcher::pause() {
  if (child_ <= 0) return;
  stop();
  state_.state = "paused";
}

void Prefetcher::refuse(const std::string& why) {
  // Nothing of a refused order is believed, not even its commit; a fetch
  // under way for an earlier, verified order goes on.
  state_.commit.clear();
  state_.root_hash.clear();
  state_.state = "refused";
  state_.error = why;
}

std::string Prefetcher::last_log_line() const {
  std::string last;
  for (const std::string& line : split(read_text(config_.log_path), '\n'))
    if (!trim(line).empty()) last = std::string(trim(line));
  for (std::string_view prefix : {"goldroot-blockd: error: ", "goldroot-blockd: "})
    if (last.starts_with(prefix)) last = last.substr(prefix.size());
  return last.empty() ? "goldroot-blockd --prefetch failed" : last;
}

void Prefetcher::finished(int wait_status) {
  child_ = -1;
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    state_.state = "failed";
    state_.error = last_log_line();
    return;
  }
  if (manifest_->host && manifest_->host->fetch == "full") {
    if (Status made = make_whole_copy(); !made.ok()) {
      state_.state = "failed";
      state_.error = made.error().message;
      return;
    }
  }
  complete_ = true;
  state_.state = "complete";
  state_.error.clear();
}

Status Prefetcher::make_whole_copy() {
  return boot::cache_to_whole_copy(config_.cache_dir, manifest_->image.verity->params.root_hash.hex(),
                                   manifest_->image.sha256, manifest_->image.size, whole_copy_path());
}

void Prefetcher::read_progress() {
  nlohmann::json json = nlohmann::json::parse(read_text(config_.status_path), nullptr, false);
  auto root = json.is_object() ? json.find("root_hash") : json.end();
  if (root != json.end() && root->is_string() && root->get<std::string>() == state_.root_hash) {
    state_.total_bytes = number_at(json, "blocks") * kBlockSize;
    state_.done_bytes = std::min(number_at(json, "present") * kBlockSize, state_.total_bytes);
    state_.fetched_bytes = number_at(json, "fetched_bytes");
    state_.seeded_bytes = number_at(json, "seeded_bytes");
  }
  if (state_.state == "complete") {
    if (state_.total_bytes == 0) state_.total_bytes = manifest_->image.size;
    state_.done_bytes = state_.total_bytes;
  }
}

PrefetchState Prefetcher::state() {
  if (child_ > 0) {
    int status = 0;
    pid_t done = ::waitpid(child_, &status, WNOHANG);
    if (done == child_) finished(status);
  }
  if (manifest_ && state_.state != "refused" && !state_.root_hash.empty()) read_progress();
  return state_;
}

}  // namespace goldroot::agent

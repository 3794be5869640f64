#include "boot/blockd_launch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "boot/files.h"

namespace goldroot::boot {
namespace {

constexpr size_t kReadyLineLimit = 4096;

// The device of a live daemon an earlier attempt started for this image.
std::string running_device(const BlockdLaunch& launch) {
  auto text = read_whole_file(launch.status_path);
  if (!text.ok()) return "";
  nlohmann::json status = nlohmann::json::parse(*text, nullptr, false);
  if (!status.is_object() || status.value("root_hash", "") != launch.root_hash) return "";
  auto pid = status.find("pid");
  std::string device = status.value("device", "");
  if (pid == status.end() || !pid->is_number_integer() || device.empty()) return "";
  // A daemon that moved the device onto the local copy has exited.
  if (status.value("backing", "") != "local" && ::kill(pid->get<pid_t>(), 0) != 0) return "";
  struct stat st;
  if (::stat(device.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return "";
  return device;
}

std::string exit_description(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("signal ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

Result<StartedBlockd> start_blockd(const BlockdLaunch& launch) {
  if (!launch.status_path.empty()) {
    std::string device = running_device(launch);
    if (!device.empty()) return StartedBlockd{device, true};
  }
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return errno_error("pipe for goldroot-blockd", errno);
  std::vector<std::string> argv = {launch.program};
  argv.insert(argv.end(), launch.arguments.begin(), launch.arguments.end());
  argv.push_back("--ready-fd");
  argv.push_back("3");
  std::vector<char*> pointers;
  for (std::string& argument : argv) pointers.push_back(argument.data());
  pointers.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) {
    int saved = errno;
    ::close(ready[0]);
    ::close(ready[1]);
    return errno_error("fork for goldroot-blockd", saved);
  }
  if (pid == 0) {  // the daemon: fd 3 is the pipe's write end, without CLOEXEC
    if (::dup2(ready[1], 3) < 0) ::_exit(127);
    ::execvp(pointers[0], pointers.data());
    std::string line = "error: cannot run " + launch.program + ": " + std::strerror(errno) + "\n";
    (void)!::write(3, line.data(), line.size());
    ::_exit(127);
  }
  ::close(ready[1]);
  std::string line;
  char buffer[512];
  while (line.find('\n') == std::string::npos && line.size() < kReadyLineLimit) {
    ssize_t got = ::read(ready[0], buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    line.append(buffer, got);
  }
  ::close(ready[0]);
  if (size_t end = line.find('\n'); end != std::string::npos) line.resize(end);
  if (line.starts_with("/dev/")) return StartedBlockd{line, false};
  // It failed: reap it so no zombie stays, and say why.
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (line.starts_with("error: "))
    return make_error(ErrorCode::kIo, "goldroot-blockd: " + line.substr(7));
  return make_error(ErrorCode::kIo, "goldroot-blockd stopped before its device was ready (" +
                                        exit_description(status) + ")" +
                                        (line.empty() ? "" : ": " + line));
}

std::vector<std::string> blockd_verity_arguments(const ImageVerity& verity) {
  const VerityParams& params = verity.params;
  return {"--root-hash", params.root_hash.hex(),
          "--salt", hex_encode(params.salt),
          "--data-blocks", std::to_string(params.data_blocks),
          "--tree-size", std::to_string(verity.tree_size),
          "--data-block-size", std::to_string(params.data_block_size),
          "--hash-block-size", std::to_string(params.hash_block_size)};
}

}  // namespace goldroot::boot

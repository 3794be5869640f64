#include "sys/run_tool.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/strings.h"
#include "sys/unique_fd.h"

namespace goldroot {

Status run_tool(const std::vector<std::string>& argv, const std::string& what) {
  char log_path[] = "/tmp/goldroot-tool-XXXXXX";
  UniqueFd log(::mkostemp(log_path, O_CLOEXEC));
  if (!log.valid()) return errno_error("creating a log file for " + argv[0], errno);
  ::unlink(log_path);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("starting " + argv[0], errno);
  if (pid == 0) {
    ::dup2(log.get(), STDOUT_FILENO);
    ::dup2(log.get(), STDERR_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = ::pread(log.get(), buffer, sizeof buffer, static_cast<off_t>(output.size()))) > 0;)
    output.append(buffer, static_cast<size_t>(n));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return make_error(ErrorCode::kNotFound, argv[0] + " is not installed (needed for " + what +
                                                "); run scripts/setup.sh");
  std::string last;
  for (const std::string& line : split(output, '\n'))
    if (!trim(line).empty()) last = std::string(trim(line));
  return make_error(ErrorCode::kIo, argv[0] + " failed building " + what +
                                        (last.empty() ? "" : ": " + last));
}

}  // namespace goldroot

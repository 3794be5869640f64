// Writes a RenderedLayer as an erofs image (layer_writers.h): the directory
// writer fills a scratch directory, then the real mkfs.erofs from
// erofs-utils packs it, keeping owners, modes, mtimes, whiteouts and the
// trusted.overlay.opaque xattr.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "base/strings.h"
#include "layer/layer_writers.h"
#include "sys/unique_fd.h"

extern char** environ;

namespace goldroot {

namespace {

// Runs argv, returning its stderr in the error when it fails.
Status run_tool(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return errno_error("creating a pipe", errno);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  write_end.reset();
  if (rc != 0) {
    if (rc == ENOENT)
      return make_error(ErrorCode::kNotFound,
                        argv[0] + " is not installed; install erofs-utils to render .erofs layers");
    return errno_error("running " + argv[0], rc);
  }
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = ::read(read_end.get(), buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return make_error(ErrorCode::kIo, argv[0] + " failed: " + std::string(trim(output)));
  return {};
}

}  // namespace

Status write_layer_erofs(const RenderedLayer& layer, const std::string& temporary,
                         const std::string& scratch_dir) {
  std::error_code ignored;
  std::filesystem::remove_all(scratch_dir, ignored);
  TRY(write_layer_directory(layer, scratch_dir));
  Status made = run_tool({"mkfs.erofs", "--quiet", temporary, scratch_dir});
  std::filesystem::remove_all(scratch_dir, ignored);
  return made;
}

}  // namespace goldroot

#include "boot/agent_install.h"

#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>

namespace goldroot::boot {

Result<bool> install_agent(const std::string& from, const std::string& run_dir,
                           const std::string& units_dir) {
  namespace fs = std::filesystem;
  const std::string unit = "goldroot-agent.service";
  if (::access((from + "/libexec/goldroot-agent").c_str(), X_OK) != 0 ||
      ::access((from + "/" + unit).c_str(), R_OK) != 0)
    return false;
  std::error_code error;
  auto check = [&](const std::string& what) -> Status {
    if (error) return make_error(ErrorCode::kIo, "installing the agent: " + what + ": " + error.message());
    return ok_status();
  };
  const std::string target = run_dir + "/agent";
  fs::create_directories(target, error);
  TRY(check(target));
  // initramfs-tools mounts /run noexec: the agent gets a tmpfs of its own.
  if (::mount("goldroot-agent", target.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
    return errno_error("mounting a tmpfs for the agent at " + target, errno);
  for (const char* dir : {"bin", "lib", "libexec"}) {
    fs::copy(from + "/" + dir, target + "/" + dir,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks |
                 fs::copy_options::overwrite_existing,
             error);
    TRY(check(from + "/" + dir));
  }
  fs::create_directories(units_dir + "/multi-user.target.wants", error);
  TRY(check(units_dir));
  fs::copy_file(from + "/" + unit, units_dir + "/" + unit, fs::copy_options::overwrite_existing, error);
  TRY(check(unit));
  std::string link = units_dir + "/multi-user.target.wants/" + unit;
  fs::remove(link, error);
  fs::create_symlink("../" + unit, link, error);
  TRY(check(link));
  return true;
}

}  // namespace goldroot::boot

#include "boot/agent_install.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>

#include "boot/files.h"
#include "boot/tree_copy.h"

namespace goldroot::boot {

Result<bool> install_agent(const std::string& from, const std::string& run_dir,
                           const std::string& units_dir, const std::string& tls_pin) {
  const std::string unit = "goldroot-agent.service";
  if (::access((from + "/libexec/goldroot-agent").c_str(), X_OK) != 0 ||
      ::access((from + "/" + unit).c_str(), R_OK) != 0)
    return false;
  const std::string target = run_dir + "/agent";
  TRY(make_directory(target));
  // initramfs-tools mounts /run noexec: the agent gets a tmpfs of its own.
  if (::mount("goldroot-agent", target.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
    return errno_error("mounting a tmpfs for the agent at " + target, errno);
  for (const char* dir : {"bin", "lib", "libexec"}) {
    TRY(make_directory(target + "/" + dir));
    TRY(copy_tree(from + "/" + dir, target + "/" + dir).context("installing the agent"));
  }
  if (!tls_pin.empty()) TRY(write_file_atomically(run_dir + "/tls.pin", tls_pin + "\n"));
  TRY(make_directory(units_dir + "/multi-user.target.wants"));
  TRY(write_file_atomically(units_dir + "/" + unit, TRY(read_whole_file(from + "/" + unit))));
  std::string link = units_dir + "/multi-user.target.wants/" + unit;
  if ((::unlink(link.c_str()) != 0 && errno != ENOENT) || ::symlink(("../" + unit).c_str(), link.c_str()) != 0)
    return errno_error("installing the agent: " + link, errno);
  return true;
}

}  // namespace goldroot::boot

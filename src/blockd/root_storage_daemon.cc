#include "blockd/root_storage_daemon.h"

#include <sys/mman.h>
#include <sys/prctl.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace goldroot::blockd {

Status set_root_storage_cmdline(const std::string& name, const std::vector<std::string>& arguments) {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');  // the command name may hold anything
  if (close == std::string::npos) return make_error(ErrorCode::kIo, "cannot parse /proc/self/stat");
  std::istringstream fields(stat.substr(close + 2));
  // Field 3 (state) comes first; arg_start and arg_end are fields 48 and 49.
  std::string field;
  unsigned long long arg_start = 0, arg_end = 0;
  for (int number = 3; number <= 49 && (fields >> field); ++number) {
    if (number == 48) arg_start = std::stoull(field);
    if (number == 49) arg_end = std::stoull(field);
  }
  if (arg_start == 0 || arg_end <= arg_start + 1)
    return make_error(ErrorCode::kUnsupported, "/proc/self/stat shows no argument area (kernel older than 3.5?)");
  size_t room = arg_end - arg_start;

  std::string title = "@" + name;
  if (title.size() + 1 > room) title.resize(room - 1);
  title.push_back('\0');
  for (const std::string& argument : arguments) {
    if (title.size() + argument.size() + 1 > room) break;
    title += argument;
    title.push_back('\0');
  }
  char* area = reinterpret_cast<char*>(static_cast<uintptr_t>(arg_start));
  std::memcpy(area, title.data(), title.size());
  std::memset(area + title.size(), 0, room - title.size());
  ::prctl(PR_SET_NAME, name.c_str(), 0, 0, 0);
  return ok_status();
}

Status lock_all_memory() {
  if (::mlockall(MCL_CURRENT | MCL_FUTURE) != 0) return errno_error("mlockall", errno);
  return ok_status();
}

}  // namespace goldroot::blockd

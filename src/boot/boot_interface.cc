#include "boot/boot_interface.h"

#include <dirent.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "boot/kernel_cmdline.h"

namespace goldroot::boot {
namespace {

std::vector<std::string> sorted_names(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* stream = ::opendir(dir.c_str())) {
    while (dirent* entry = ::readdir(stream))
      if (entry->d_name[0] != '.') names.push_back(entry->d_name);
    ::closedir(stream);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A name the kernel could have given an interface: no path tricks.
bool plausible_interface(const std::string& name) {
  return !name.empty() && name.size() < IFNAMSIZ && name.find('/') == std::string::npos &&
         name != "." && name != "..";
}

Result<std::string> mac_of(const std::string& net_dir, const std::string& interface) {
  std::string text = read_text(net_dir + "/" + interface + "/address");
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return parse_mac_address(text, "the MAC of " + interface);
}

}  // namespace

std::vector<std::string> interfaces_with_ipv4() {
  std::vector<std::string> names;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return names;
  for (ifaddrs* entry = list; entry; entry = entry->ifa_next)
    if (entry->ifa_addr && entry->ifa_addr->sa_family == AF_INET &&
        !(entry->ifa_flags & IFF_LOOPBACK) &&
        std::find(names.begin(), names.end(), entry->ifa_name) == names.end())
      names.push_back(entry->ifa_name);
  ::freeifaddrs(list);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::string> find_boot_mac(const std::string& run_dir, const std::string& net_dir,
                                  const std::vector<std::string>& ipv4_interfaces) {
  for (const std::string& name : sorted_names(run_dir)) {
    if (name.rfind("net-", 0) != 0 || name.size() <= 9 ||
        name.compare(name.size() - 5, 5, ".conf") != 0)
      continue;
    std::string interface = name.substr(4, name.size() - 9);
    std::istringstream lines(read_text(run_dir + "/" + name));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("DEVICE=", 0) != 0) continue;
      interface = line.substr(7);
      interface.erase(std::remove(interface.begin(), interface.end(), '\''), interface.end());
      interface.erase(std::remove(interface.begin(), interface.end(), '"'), interface.end());
    }
    if (plausible_interface(interface)) return mac_of(net_dir, interface);
  }
  for (const std::string& interface : ipv4_interfaces)
    if (plausible_interface(interface) && interface != "lo") return mac_of(net_dir, interface);
  return make_error(ErrorCode::kNotFound,
                    "no network interface was configured (no " + run_dir +
                        "/net-*.conf, no interface with an IPv4 address), so this machine "
                        "cannot name its MAC to the server; check ip=dhcp and the cable");
}

}  // namespace goldroot::boot

#include "overlay/ignore_list.h"

#include <cerrno>
#include <fstream>
#include <sstream>

#include "base/strings.h"

namespace goldroot {

const std::vector<std::string>& IgnoreList::default_patterns() {
  // What a booted Debian-like client writes without anyone changing it.
  static const std::vector<std::string> patterns = {
      "/run",
      "/tmp",
      "/var/tmp",
      "/var/log",
      "/var/cache",
      "/var/backups",
      "/var/spool/anacron",
      "/etc/mtab",
      "/etc/machine-id",
      "/etc/adjtime",
      "/etc/resolv.conf",
      "/var/lib/dbus/machine-id",
      "/var/lib/systemd/random-seed",
      "/var/lib/systemd/timers",
      "/var/lib/systemd/timesync",
      "/var/lib/systemd/coredump",
      "/var/lib/dhcp",
      "/var/lib/dhclient",
      "/var/lib/NetworkManager/*.lease",
      "/var/lib/NetworkManager/timestamps",
      "/var/lib/NetworkManager/seen-bssids",
      "/var/lib/logrotate/status",
      "/var/lib/apt/lists",
      "/var/lib/apt/periodic",
      "/var/lib/sudo/lectured",
      "/root/.bash_history",
      "/root/.lesshst",
      "/root/.viminfo",
      "/root/.cache",
  };
  return patterns;
}

IgnoreList IgnoreList::defaults() {
  IgnoreList list;
  list.patterns_ = default_patterns();
  return list;
}

Result<IgnoreList> IgnoreList::parse(std::string_view text, const std::string& source) {
  IgnoreList list;
  int number = 0;
  for (const std::string& raw : split(text, '\n')) {
    ++number;
    std::string line(trim(raw));
    if (line.empty() || line[0] == '#') continue;
    if (line == "@defaults") {
      list.patterns_.insert(list.patterns_.end(), default_patterns().begin(),
                            default_patterns().end());
      continue;
    }
    if (line[0] != '/')
      return make_error(ErrorCode::kInvalidArgument,
                        source + " line " + std::to_string(number) + ": the pattern '" + line +
                            "' is not an absolute path (it must start with /)");
    while (line.size() > 1 && line.back() == '/') line.pop_back();
    list.patterns_.push_back(line);
  }
  return list;
}

Result<IgnoreList> IgnoreList::load_or_defaults(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return defaults();
    return errno_error("reading " + path, errno);
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

bool glob_match(std::string_view pattern, std::string_view path) {
  size_t p = 0, s = 0;
  while (p < pattern.size()) {
    if (pattern[p] == '*') {
      bool across = p + 1 < pattern.size() && pattern[p + 1] == '*';
      std::string_view rest = pattern.substr(p + (across ? 2 : 1));
      for (size_t k = s;; ++k) {
        if (glob_match(rest, path.substr(k))) return true;
        if (k == path.size() || (!across && path[k] == '/')) return false;
      }
    }
    if (s == path.size()) return false;
    if (pattern[p] == '?' ? path[s] == '/' : pattern[p] != path[s]) return false;
    ++p;
    ++s;
  }
  return s == path.size();
}

bool IgnoreList::matches(std::string_view path) const {
  for (const std::string& pattern : patterns_) {
    // Whatever the pattern matches, the path or an ancestor, starts with
    // its literal head; most paths part from it within a few characters
    // (changes checks every change against every pattern).
    size_t at = 0;
    while (at < pattern.size() && pattern[at] != '*' && pattern[at] != '?' && at < path.size() &&
           pattern[at] == path[at])
      ++at;
    if (at < pattern.size() && pattern[at] != '*' && pattern[at] != '?') continue;
    // The path itself, then each ancestor ("/var/log/a/b", "/var/log/a", "/var/log").
    std::string_view candidate = path;
    for (;;) {
      if (glob_match(pattern, candidate)) return true;
      size_t slash = candidate.rfind('/');
      if (slash == 0 || slash == std::string_view::npos) break;
      candidate = candidate.substr(0, slash);
    }
  }
  return false;
}

}  // namespace goldroot

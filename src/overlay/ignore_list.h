// IgnoreList: the paths where every boot writes something (logs, caches,
// /tmp, /run, the machine id, random seeds…). Changes there are reported as
// ignored and do not make a machine "dirty".
//
// A pattern is an absolute path glob: `*` matches within one path component,
// `**` across components, `?` one character. A pattern matching a directory
// also covers everything below it ("/var/log" ignores /var/log/syslog).
//
// File format (SITE/changes-ignore, or --ignore-file): one pattern per line;
// blank lines and lines starting with '#' are skipped; a line "@defaults"
// includes the built-in list. A site file replaces the built-in list, so
// start it with "@defaults" to extend rather than replace it.
//
// Immutable after construction; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace goldroot {

class IgnoreList {
 public:
  IgnoreList() = default;  // ignores nothing
  static IgnoreList defaults();
  static const std::vector<std::string>& default_patterns();
  // `source` names the text in errors ("/var/lib/goldroot/changes-ignore").
  static Result<IgnoreList> parse(std::string_view text, const std::string& source);
  // The file at `path` if it exists, else the defaults.
  static Result<IgnoreList> load_or_defaults(const std::string& path);

  // `path` is absolute ("/var/log/syslog").
  bool matches(std::string_view path) const;
  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  std::vector<std::string> patterns_;
};

// Glob match of a whole path: `*` stays within a component, `**` does not.
bool glob_match(std::string_view pattern, std::string_view path);

}  // namespace goldroot

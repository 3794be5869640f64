#include "store/commit.h"

#include "base/strings.h"
#include "store/tree.h"

namespace goldroot {

namespace {
constexpr std::string_view kCommitMagic = "goldroot-commit 1";
}

std::string Commit::serialize() const {
  std::string out(kCommitMagic);
  out += "\nroot " + root.hex() + "\n";
  for (const Digest& parent : parents) out += "parent " + parent.hex() + "\n";
  out += "created " + std::to_string(created) + "\n";
  out += "name " + escape_path(name) + "\n";
  out += "size " + std::to_string(size) + "\n";
  out += "entries " + std::to_string(entries) + "\n";
  for (const auto& group : hardlinks) {
    out += "link";
    for (const std::string& path : group) out += " " + escape_path(path);
    out += "\n";
  }
  out += "message " + escape_path(message) + "\n";
  return out;
}

Result<Commit> Commit::parse(std::string_view data) {
  auto corrupt = [] { return make_error(ErrorCode::kCorruption, "malformed commit object"); };
  std::vector<std::string> lines = split(data, '\n');
  if (lines.empty() || lines[0] != kCommitMagic || !lines.back().empty()) return corrupt();
  Commit commit;
  bool have_root = false;
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    const std::string& line = lines[i];
    size_t space = line.find(' ');
    if (space == std::string::npos) return corrupt();
    std::string key = line.substr(0, space);
    std::string value = line.substr(space + 1);
    uint64_t number;
    if (key == "root") {
      auto d = Digest::from_hex(value);
      if (!d) return corrupt();
      commit.root = *d;
      have_root = true;
    } else if (key == "parent") {
      auto d = Digest::from_hex(value);
      if (!d) return corrupt();
      commit.parents.push_back(*d);
    } else if (key == "created" && parse_uint64(value, &number)) {
      commit.created = static_cast<int64_t>(number);
    } else if (key == "name") {
      commit.name = TRY(unescape_path(value));
    } else if (key == "size" && parse_uint64(value, &number)) {
      commit.size = number;
    } else if (key == "entries" && parse_uint64(value, &number)) {
      commit.entries = number;
    } else if (key == "link") {
      std::vector<std::string> group;
      for (const std::string& part : split(value, ' ')) group.push_back(TRY(unescape_path(part)));
      commit.hardlinks.push_back(std::move(group));
    } else if (key == "message") {
      commit.message = TRY(unescape_path(value));
    } else {
      return corrupt();
    }
  }
  if (!have_root) return corrupt();
  return commit;
}

}  // namespace goldroot

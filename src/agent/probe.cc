#include "agent/probe.h"

#include <unistd.h>

#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <utmpx.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/strings.h"
#include "overlay/changes.h"
#include "overlay/lower.h"

namespace goldroot::agent {

namespace {

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return errno_error("reading " + path, errno);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string text_at(const nlohmann::json& json, const char* key) {
  auto found = json.find(key);
  return found != json.end() && found->is_string() ? found->get<std::string>() : std::string();
}

}  // namespace

Result<BootState> read_boot_state(const std::string& path) {
  std::string text = TRY(read_text(path).context("boot state"));
  nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    return make_error(ErrorCode::kCorruption, path + " is not a JSON object");
  BootState state;
  state.host = text_at(json, "host");
  state.mac = text_at(json, "mac");
  state.server = text_at(json, "server");
  if (auto servers = json.find("servers"); servers != json.end() && servers->is_array())
    for (const nlohmann::json& server : *servers)
      if (server.is_string()) state.servers.push_back(server.get<std::string>());
  state.mode = text_at(json, "mode");
  state.commit = text_at(json, "commit");
  state.lower = text_at(json, "lower");
  state.middle = text_at(json, "middle");
  state.cache_dir = text_at(json, "cache_dir");
  state.site_key = text_at(json, "site_key");
  if (auto manifest = json.find("manifest"); manifest != json.end() && manifest->is_object())
    state.manifest_sha256 = text_at(*manifest, "sha256");
  if (auto image = json.find("image"); image != json.end() && image->is_object()) {
    state.image_source = text_at(*image, "source");
    auto number = [&](const char* key) -> uint64_t {
      auto found = image->find(key);
      return found != image->end() && found->is_number_unsigned() ? found->get<uint64_t>() : 0;
    };
    state.image_size = number("size");
    state.image_downloaded = std::min(number("downloaded"), state.image_size);
  }
  if (auto upper = json.find("upper"); upper != json.end() && upper->is_object()) {
    state.upper_kind = text_at(*upper, "kind");
    state.upper_path = text_at(*upper, "path");
  }
  if (state.host.empty()) return make_error(ErrorCode::kCorruption, path + " names no host");
  return state;
}

Result<std::string> read_boot_id(const std::string& path) {
  std::string text = TRY(read_text(path));
  std::string id(trim(text));
  if (id.empty()) return make_error(ErrorCode::kCorruption, path + " is empty");
  return id;
}

RootStorage read_root_storage(const std::string& blockd_status) {
  RootStorage root;
  auto text = read_text(blockd_status);
  if (!text.ok()) {
    if (text.error().sys_errno == ENOENT) root.backing = "copy";
    else root.error = text.error().message;
    return root;
  }
  nlohmann::json json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    root.error = blockd_status + " is not a JSON object";
    return root;
  }
  auto number = [&](const char* key) -> uint64_t {
    auto found = json.find(key);
    return found != json.end() && found->is_number_unsigned() ? found->get<uint64_t>() : 0;
  };
  root.backing = text_at(json, "backing");
  root.blocks = number("blocks");
  root.present = std::min(number("present"), root.blocks);
  root.fetched_bytes = number("fetched_bytes");
  root.seeded_bytes = number("seeded_bytes");
  root.verify_failures = number("verify_failures");
  root.error = text_at(json, "last_error");
  return root;
}

void count_whole_copy(const BootState& boot, RootStorage* root) {
  if (root->backing != "copy") return;
  root->fetched_bytes = boot.image_downloaded;
  if (boot.image_source == "seeded") root->seeded_bytes = boot.image_size - boot.image_downloaded;
}

Result<int64_t> read_uptime(const std::string& path) {
  std::string text = TRY(read_text(path));
  return static_cast<int64_t>(std::strtod(text.c_str(), nullptr));
}

std::vector<UserSession> read_users(const std::string& utmp) {
  std::vector<UserSession> users;
  // utmpxname() keeps a process-wide file name; the agent is single-threaded.
  if (utmpxname(utmp.c_str()) != 0) return users;
  setutxent();
  while (struct utmpx* entry = getutxent()) {
    if (entry->ut_type != USER_PROCESS) continue;
    UserSession session;
    session.user.assign(entry->ut_user, strnlen(entry->ut_user, sizeof entry->ut_user));
    session.line.assign(entry->ut_line, strnlen(entry->ut_line, sizeof entry->ut_line));
    session.host.assign(entry->ut_host, strnlen(entry->ut_host, sizeof entry->ut_host));
    session.since = entry->ut_tv.tv_sec;
    users.push_back(std::move(session));
  }
  endutxent();
  return users;
}

std::optional<int64_t> last_input_activity(const std::string& dev) {
  std::optional<int64_t> newest;
  auto consider = [&](const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) return;
    if (!newest || st.st_atim.tv_sec > *newest) newest = st.st_atim.tv_sec;
  };
  auto scan = [&](const std::string& dir, const std::string& prefix, bool digit_after) {
    DIR* handle = ::opendir(dir.c_str());
    if (!handle) return;
    while (dirent* entry = ::readdir(handle)) {
      std::string name = entry->d_name;
      if (!starts_with(name, prefix) || name == "." || name == "..") continue;
      if (digit_after && (name.size() == prefix.size() || !std::isdigit(name[prefix.size()])))
        continue;
      consider(dir + "/" + name);
    }
    ::closedir(handle);
  };
  scan(dev + "/input", "event", true);
  scan(dev, "tty", true);
  scan(dev + "/pts", "", true);
  return newest;
}

Result<std::unique_ptr<Lower>> open_client_lower(const BootState& boot) {
  std::unique_ptr<Lower> image = TRY(DirectoryLower::open(boot.lower));
  if (boot.middle.empty() || ::access(boot.middle.c_str(), F_OK) != 0) return image;
  std::unique_ptr<Lower> layer = TRY(DirectoryLower::open(boot.middle));
  return std::unique_ptr<Lower>(new StackedLower(std::move(layer), std::move(image)));
}

void summarize_changes(const BootState& boot, const std::string& upper,
                       const ProbePaths& paths, Report* report) {
  auto fail = [&](const Error& error) {
    report->changes.error = error.message;
    report->dirty = false;
  };
  auto ignore = IgnoreList::load_or_defaults(paths.ignore_file);
  if (!ignore.ok()) return fail(ignore.error());
  auto lower = open_client_lower(boot);
  if (!lower.ok()) return fail(lower.error());
  ChangeOptions options;
  options.xattrs = paths.userxattr ? XattrNamespace::kUser : XattrNamespace::kTrusted;
  auto set = read_changes(**lower, upper, *ignore, options);
  if (!set.ok()) return fail(set.error());
  ChangeSummary& summary = report->changes;
  for (size_t kind = 0; kind < Change::kKinds; ++kind)
    if (set->counts[kind] > 0) {
      summary.counts[change_kind_name(static_cast<Change::Kind>(kind))] = set->counts[kind];
      summary.total += set->counts[kind];
    }
  summary.ignored = set->ignored;
  for (const Change& change : set->changes) {
    if (change.ignored) continue;
    if (summary.paths.size() == kReportPathLimit) {
      summary.truncated = true;
      break;
    }
    summary.paths.push_back({change.path, change_kind_name(change.kind)});
  }
  report->dirty = set->dirty();
}

Result<Report> probe(const BootState& boot, const ProbePaths& paths) {
  Report report;
  report.host = boot.host;
  report.mac = boot.mac;
  report.boot_id = TRY(read_boot_id(paths.boot_id));
  report.commit = boot.commit;
  report.manifest_sha256 = boot.manifest_sha256;
  report.mode = boot.mode;
  report.upper_kind = boot.upper_kind;
  struct statvfs fs;
  if (!boot.upper_path.empty() && ::statvfs(boot.upper_path.c_str(), &fs) == 0) {
    report.upper_total_bytes = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
    report.upper_used_bytes = static_cast<uint64_t>(fs.f_blocks - fs.f_bfree) * fs.f_frsize;
  }
  report.root = read_root_storage(paths.blockd_status);
  count_whole_copy(boot, &report.root);
  if (boot.lower.empty() || boot.upper_path.empty())
    report.changes.error = "the boot state names no lower or upper directory";
  else
    summarize_changes(boot, boot.upper_path, paths, &report);
  auto uptime = read_uptime(paths.uptime);
  if (uptime.ok()) report.uptime_seconds = *uptime;
  report.users = read_users(paths.utmp);
  report.last_input = last_input_activity(paths.dev);
  return report;
}

}  // namespace goldroot::agent

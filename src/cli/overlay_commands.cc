// `goldroot changes`, `goldroot capture`, `goldroot reset`: what changed on
// a machine (its overlay upper dir), turning a maintained machine into a new
// image, and discarding a machine's writes.
#include <sys/stat.h>

#include <cstdio>

#include "base/strings.h"
#include "cli/agent_commands.h"
#include "cli/capture_host.h"
#include "cli/command.h"
#include "overlay/capture.h"
#include "overlay/changes.h"
#include "overlay/content_diff.h"
#include "overlay/reset.h"

namespace goldroot::cli {

namespace {

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Status require_directory(const std::string& path, const char* what) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return make_error(ErrorCode::kNotFound, std::string("the ") + what + " " + path +
                                                " does not exist");
  if (!S_ISDIR(st.st_mode))
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("the ") + what + " " + path + " is not a directory");
  return {};
}

// A lower given as a directory needs no site; a REF does.
struct OpenedLower {
  std::unique_ptr<Site> site;
  std::unique_ptr<Lower> lower;
};

Result<OpenedLower> open_lower(Context& context, const std::string& lower) {
  OpenedLower opened;
  if (is_directory(lower)) {
    opened.lower = TRY(DirectoryLower::open(lower));
    return opened;
  }
  auto site = context.open_site(LockMode::kShared, "changes");
  if (!site.ok())
    return make_error(ErrorCode::kNotFound, "--lower " + lower +
                                                " is not a directory, and there is no site to "
                                                "resolve it as an image (" +
                                                site.error().message + ")");
  opened.site = std::move(site).value();
  auto commit = opened.site->store().resolve(lower);
  if (!commit.ok())
    return make_error(ErrorCode::kNotFound, "--lower " + lower +
                                                " is neither a directory nor a known image, "
                                                "channel or commit");
  opened.lower = TRY(StoreLower::open(opened.site->store(), *commit));
  return opened;
}

const char* letter(Change::Kind kind) {
  switch (kind) {
    case Change::Kind::kAdded: return "A";
    case Change::Kind::kModified: return "M";
    case Change::Kind::kMetadata: return "m";
    case Change::Kind::kDeleted: return "D";
    case Change::Kind::kOpaque: return "O";
    case Change::Kind::kTypeChanged: return "T";
    case Change::Kind::kRenamed: return "R";
  }
  return "?";
}

std::string details(const Change& change) {
  std::vector<std::string> parts;
  if (change.kind == Change::Kind::kRenamed) parts.push_back("from " + escape_path(change.from));
  if (change.old_type)
    parts.push_back(std::string(file_type_name(*change.old_type)) + " -> " +
                    file_type_name(change.type));
  if (change.kind == Change::Kind::kRenamed && change.content_changed) parts.push_back("content");
  if (!change.fields.empty()) parts.push_back(join(change.fields, ", "));
  if (change.ignored) parts.push_back("ignored");
  return parts.empty() ? "" : " (" + join(parts, "; ") + ")";
}

nlohmann::json change_json(const Change& change) {
  nlohmann::json item = {{"path", change.path},
                         {"change", change_kind_name(change.kind)},
                         {"type", file_type_name(change.type)}};
  item["size"] = change.size;  // 0 for anything but regular files
  if (change.old_type) item["old_type"] = file_type_name(*change.old_type);
  if (!change.from.empty()) item["from"] = change.from;
  if (change.kind == Change::Kind::kRenamed) item["content_changed"] = change.content_changed;
  if (!change.fields.empty()) item["fields"] = change.fields;
  if (change.ignored) item["ignored"] = true;
  return item;
}

}  // namespace

Result<int> run_changes(Context& context, const Args& args) {
  CLI::App app{"List what an overlay upper dir changes over its lower: added, modified, "
               "metadata, deleted, opaque, type-changed, renamed. Paths on the ignore list "
               "(SITE/changes-ignore, else built-in) are hidden unless --all. With --host, "
               "what that host's agent last reported instead.",
               "goldroot changes"};
  std::string lower_arg, upper, content, ignore_file, host;
  bool json = false, all = false, userxattr = false;
  int wait = 150;
  app.add_option("--lower", lower_arg, "image REF, or the lower directory");
  app.add_option("--upper", upper, "the overlay upper dir");
  app.add_option("--host", host, "a host's last reported changes (its agent's list)");
  app.add_option("--wait", wait, "with --host and --content: seconds to wait for the agent (150)");
  app.add_flag("--json", json, "print a JSON list of {path, change, type, size, …}");
  app.add_flag("--all", all, "also show ignored paths, marked");
  app.add_option("--content", content, "print a unified diff of this text file instead");
  app.add_option("--ignore-file", ignore_file, "ignore list to use (one glob per line)");
  app.add_flag("--userxattr", userxattr, "the overlay was mounted with userxattr");
  if (auto exit = parse_args(app, args)) return *exit;
  if (!host.empty()) {
    if (!lower_arg.empty() || !upper.empty())
      return make_error(ErrorCode::kInvalidArgument, "--host takes no --lower or --upper");
    return host_changes_command(context, host, json, content, wait);
  }
  if (lower_arg.empty() || upper.empty())
    return make_error(ErrorCode::kInvalidArgument, "give --lower and --upper, or --host NAME");
  TRY(require_directory(upper, "upper dir"));
  ChangeOptions options;
  options.xattrs = userxattr ? XattrNamespace::kUser : XattrNamespace::kTrusted;
  OpenedLower opened = TRY(open_lower(context, lower_arg));

  if (!content.empty()) {
    std::string diff = TRY(content_diff(*opened.lower, upper, content, options));
    std::fwrite(diff.data(), 1, diff.size(), stdout);
    return 0;
  }
  IgnoreList ignore;
  if (!ignore_file.empty()) {
    if (!context.env->exists(ignore_file))
      return make_error(ErrorCode::kNotFound, "the ignore file " + ignore_file + " does not exist");
    ignore = TRY(IgnoreList::load_or_defaults(ignore_file));
  } else {
    ignore = TRY(IgnoreList::load_or_defaults(context.site_root() + "/changes-ignore"));
  }
  ChangeSet set = TRY(read_changes(*opened.lower, upper, ignore, options));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Change& change : set.changes)
      if (all || !change.ignored) out.push_back(change_json(change));
    print_json(out);
    return 0;
  }
  std::printf("%s: %s\n", set.dirty() ? "dirty" : "clean", set.summary().c_str());
  for (const Change& change : set.changes)
    if (all || !change.ignored)
      std::printf("%s %s%s\n", change.ignored ? "i" : letter(change.kind),
                  escape_path(change.path).c_str(), details(change).c_str());
  return 0;
}

Result<int> run_capture(Context& context, const Args& args) {
  CLI::App app{"Turn an overlay upper dir and its lower image into a new commit of image "
               "NAME whose tree is what the mounted overlay showed; prints the commit id last. "
               "With --host, the upper is a running maintenance host's: its agent uploads it, "
               "the new commit is exported, its changes are listed (security-relevant ones "
               "first, marked), and once you confirm (or with --yes) it becomes channel test.",
               "goldroot capture"};
  std::string lower, upper, name, message;
  CaptureHostOptions host;
  bool userxattr = false;
  app.add_option("--lower", lower, "the image REF the upper sits on");
  app.add_option("--upper", upper, "the overlay upper dir (unmounted)");
  app.add_option("--host", host.host, "a host in maintenance mode, instead of --lower/--upper");
  app.add_option("--name", name, "image name (a ref) to create or advance")->required();
  app.add_option("-m,--message", message, "what this version is");
  app.add_flag("--userxattr", userxattr, "the overlay was mounted with userxattr");
  app.add_option("--channel", host.channel,
                 "with --host: the channel to move to the capture (default test; \"\" for none)");
  app.add_option("--wait", host.wait_seconds,
                 "with --host: seconds to wait for the upload (default 900)");
  app.add_flag("--keep-ignored", host.keep_ignored,
               "with --host: also capture paths on the ignore list (logs, machine id, …)");
  bool yes = false;
  app.add_flag("-y,--yes", yes,
               "with --host: move the channel without asking (for scripts; without a terminal "
               "and without --yes the channel stays)");
  if (auto exit = parse_args(app, args)) return *exit;
  if (!host.host.empty()) {
    if (!lower.empty() || !upper.empty() || userxattr)
      return make_error(ErrorCode::kInvalidArgument,
                        "--host takes no --lower, --upper or --userxattr: the host's agent says "
                        "what it booted and uploads its upper");
    host.name = name;
    host.message = message;
    host.confirm = yes ? Confirm::kAssumeYes : Confirm::kAsk;
    return capture_host_command(context, host);
  }
  if (lower.empty() || upper.empty())
    return make_error(ErrorCode::kInvalidArgument, "give --lower REF and --upper DIR, or --host NAME");
  TRY(validate_ref_name(name, "image"));
  TRY(require_directory(upper, "upper dir"));
  auto uses = TRY(overlay_mounts_using(upper));
  for (const OverlayMountUse& use : uses)
    if (use.option == "upperdir")
      return make_error(ErrorCode::kBusy, upper + " is the upper dir of the overlay mounted at " +
                                              use.mount_point +
                                              "; unmount it first so the capture is consistent");
  auto site = TRY(context.open_site(LockMode::kExclusive, "capture " + name));
  auto commit = site->store().resolve(lower);
  if (!commit.ok())
    return make_error(ErrorCode::kNotFound,
                      "--lower " + lower + " is not a known image, channel or commit");
  CaptureOptions options{name, message,
                         userxattr ? XattrNamespace::kUser : XattrNamespace::kTrusted};
  CaptureResult result = TRY(capture(site->store(), *commit, upper, options));
  std::fprintf(stderr, "captured %llu entries, %s; stored %llu files from the upper (%s new)\n",
               static_cast<unsigned long long>(result.stats.entries),
               human_bytes(result.stats.size).c_str(),
               static_cast<unsigned long long>(result.stats.files_hashed),
               human_bytes(result.stats.bytes_written).c_str());
  std::printf("%s\n", result.commit.hex().c_str());
  return 0;
}

Result<int> run_reset(Context& context, const Args& args) {
  CLI::App app{"Empty an overlay upper dir (and its workdir): the machine's writes are "
               "discarded. Refuses while an overlay mount uses them. With --dirty, instead: "
               "hosts whose agent reported changes boot next in mode reset, and reboot once "
               "no user is logged in.",
               "goldroot reset"};
  std::string upper, work, lab, at;
  bool dirty = false, now = false;
  app.add_option("--upper", upper, "the overlay upper dir");
  app.add_option("--work", work, "the overlay workdir");
  app.add_flag("--dirty", dirty, "reset the fleet's dirty hosts (by their agents' reports)");
  app.add_option("--lab", lab, "with --dirty: only this lab's hosts");
  app.add_flag("--now", now, "with --dirty: now (the default)");
  app.add_option("--at", at, "with --dirty: at HH:MM local time (goldroot serve runs it)");
  if (auto exit = parse_args(app, args)) return *exit;
  if (dirty) {
    if (!upper.empty() || !work.empty())
      return make_error(ErrorCode::kInvalidArgument, "--dirty takes no --upper or --work");
    if (now && !at.empty())
      return make_error(ErrorCode::kInvalidArgument, "give --now or --at, not both");
    return reset_dirty_command(context, lab.empty() ? std::nullopt : std::optional(lab), at);
  }
  if (!lab.empty() || now || !at.empty())
    return make_error(ErrorCode::kInvalidArgument, "--lab, --now and --at go with --dirty");
  if (upper.empty())
    return make_error(ErrorCode::kInvalidArgument, "give --upper DIR, or --dirty");
  std::optional<std::string> work_dir;
  if (!work.empty()) work_dir = work;
  ResetStats stats = TRY(reset_upper(upper, work_dir));
  std::printf("emptied %s%s (%llu objects removed)\n", upper.c_str(),
              work.empty() ? "" : (" and " + work).c_str(),
              static_cast<unsigned long long>(stats.removed));
  return 0;
}

}  // namespace goldroot::cli

// `goldroot image …`: the image store's commands.
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "base/strings.h"
#include "cli/command.h"
#include "initrd/uki.h"
#include "cli/export_session.h"
#include "cli/fleet_session.h"
#include "fleet/site_roots.h"
#include "store/channel_journal.h"
#include "image/checkout.h"
#include "image/diff.h"
#include "crypto/site_key.h"
#include "image/export.h"
#include "initrd/goldroot_initrd.h"
#include "image/image_info.h"
#include "image/import.h"
#include "image/verify.h"

namespace goldroot::cli {

namespace {

Result<int> image_import(Context& context, const Args& args) {
  CLI::App app{"Import a directory or tar archive (plain, gz, zst, xz) as a new commit of "
               "image NAME; prints the commit id last.",
               "goldroot image import"};
  std::string source, name, message;
  bool stats = false;
  app.add_option("SRC", source, "directory or tar archive")->required();
  app.add_option("--name", name, "image name (a ref)")->required();
  app.add_option("-m,--message", message, "what this version is");
  app.add_flag("--stats", stats, "print what the import read and wrote");
  if (auto exit = parse_args(app, args)) return *exit;
  TRY(validate_ref_name(name, "image"));
  struct stat st;
  if (::stat(source.c_str(), &st) != 0) return errno_error("cannot import " + source, errno);
  auto site = TRY(context.open_site(LockMode::kExclusive, "image import " + name));
  ImportOptions options{name, message};
  Result<ImportResult> imported = S_ISDIR(st.st_mode)
                                      ? import_directory(site->store(), source, options)
                                      : import_tar(site->store(), source, options);
  if (!imported.ok() && imported.error().code == ErrorCode::kNoSpace)
    return make_error(ErrorCode::kNoSpace, "the site's filesystem (" + site->root() +
                                               ") is full; the import was abandoned and the "
                                               "store is unchanged");
  ImportResult result = TRY(std::move(imported));
  if (stats)
    std::fprintf(stderr,
                 "imported %llu entries, %s; hashed %llu files, %llu from the stat cache; "
                 "wrote %llu objects, %s; %.2fs walking, %.2fs contents, %.2fs syncing\n",
                 static_cast<unsigned long long>(result.stats.entries),
                 human_bytes(result.stats.size).c_str(),
                 static_cast<unsigned long long>(result.stats.files_hashed),
                 static_cast<unsigned long long>(result.stats.files_cached),
                 static_cast<unsigned long long>(result.stats.objects_written),
                 human_bytes(result.stats.bytes_written).c_str(), result.stats.walk_seconds,
                 result.stats.content_seconds, result.stats.commit_seconds);
  std::printf("%s\n", result.commit.hex().c_str());
  return 0;
}

Result<int> image_list(Context& context, const Args& args) {
  CLI::App app{"List images: name, commit, created, size, entries.", "goldroot image list"};
  bool json = false;
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kShared, "image list"));
  auto images = TRY(list_images(site->store()));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const ImageInfo& image : images) {
      nlohmann::json item = commit_json(image.commit, image.data);
      item["name"] = image.name;
      out.push_back(item);
    }
    print_json(out);
    return 0;
  }
  std::printf("%-20s %-12s %-19s %10s %8s\n", "NAME", "COMMIT", "CREATED", "SIZE", "ENTRIES");
  for (const ImageInfo& image : images)
    std::printf("%-20s %-12s %-19s %10s %8llu\n", image.name.c_str(),
                image.commit.hex().substr(0, 12).c_str(), format_utc(image.data.created).c_str(),
                human_bytes(image.data.size).c_str(),
                static_cast<unsigned long long>(image.data.entries));
  return 0;
}

Result<int> image_log(Context& context, const Args& args) {
  CLI::App app{"Show the history of an image, newest first.", "goldroot image log"};
  std::string ref;
  bool json = false;
  app.add_option("REF", ref, "image name, channel or commit")->required();
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kShared, "image log"));
  Digest id = TRY(site->store().resolve(ref));
  nlohmann::json out = nlohmann::json::array();
  for (;;) {
    Commit commit = TRY(site->store().objects().read_commit(id));
    if (json) {
      out.push_back(commit_json(id, commit));
    } else {
      std::printf("commit %s\ncreated %s UTC  size %s  entries %llu\n", id.hex().c_str(),
                  format_utc(commit.created).c_str(), human_bytes(commit.size).c_str(),
                  static_cast<unsigned long long>(commit.entries));
      if (!commit.message.empty()) std::printf("    %s\n", commit.message.c_str());
      std::printf("\n");
    }
    if (commit.parents.empty() || !site->store().objects().has(ObjectType::kCommit, commit.parents[0]))
      break;
    id = commit.parents[0];
  }
  if (json) print_json(out);
  return 0;
}

Result<int> image_show(Context& context, const Args& args) {
  CLI::App app{"Show one commit.", "goldroot image show"};
  std::string ref;
  bool json = false;
  app.add_option("REF", ref, "image name, channel, commit id or prefix, NAME~N")->required();
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kShared, "image show"));
  Digest id = TRY(site->store().resolve(ref));
  Commit commit = TRY(site->store().objects().read_commit(id));
  if (json) {
    print_json(commit_json(id, commit));
    return 0;
  }
  std::printf("commit   %s\n", id.hex().c_str());
  for (const Digest& parent : commit.parents) std::printf("parent   %s\n", parent.hex().c_str());
  std::printf("image    %s\ncreated  %s UTC\nsize     %s (%llu bytes)\nentries  %llu\n",
              commit.name.c_str(), format_utc(commit.created).c_str(),
              human_bytes(commit.size).c_str(), static_cast<unsigned long long>(commit.size),
              static_cast<unsigned long long>(commit.entries));
  if (!commit.hardlinks.empty()) std::printf("hardlink groups %zu\n", commit.hardlinks.size());
  if (!commit.message.empty()) std::printf("\n    %s\n", commit.message.c_str());
  return 0;
}

Result<int> image_checkout(Context& context, const Args& args) {
  CLI::App app{"Reproduce a commit's tree exactly in DIR (new or empty).",
               "goldroot image checkout"};
  std::string ref, target;
  app.add_option("REF", ref, "image name, channel or commit")->required();
  app.add_option("DIR", target, "target directory")->required();
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kShared, "image checkout"));
  Digest id = TRY(site->store().resolve(ref));
  CheckoutStats stats = TRY(checkout(site->store(), id, target));
  std::fprintf(stderr, "checked out %llu entries (%s) into %s\n",
               static_cast<unsigned long long>(stats.entries), human_bytes(stats.bytes).c_str(),
               target.c_str());
  return 0;
}

Result<int> image_diff(Context& context, const Args& args) {
  CLI::App app{"List the paths that differ between two commits.", "goldroot image diff"};
  std::string from, to;
  bool json = false;
  app.add_option("REF1", from, "the older side")->required();
  app.add_option("REF2", to, "the newer side")->required();
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kShared, "image diff"));
  Digest a = TRY(site->store().resolve(from));
  Digest b = TRY(site->store().resolve(to));
  nlohmann::json out = nlohmann::json::array();
  std::map<std::string, int> counts;
  TRY(diff_commits(site->store(), a, b, [&](const TreeChange& change) {
    const char* kind = change_kind_name(change.kind);
    ++counts[kind];
    const Entry* shown = change.new_entry ? change.new_entry : change.old_entry;
    if (json) {
      nlohmann::json item = {{"path", change.path}, {"change", kind},
                             {"type", file_type_name(shown->type)}};
      if (change.old_entry && change.new_entry && change.old_entry->type != change.new_entry->type)
        item["old_type"] = file_type_name(change.old_entry->type);
      if (shown->type == FileType::kRegular) item["size"] = shown->size;
      if (change.kind == ChangeKind::kMetadata)
        item["fields"] = change.old_entry->metadata_differences(*change.new_entry);
      out.push_back(item);
    } else {
      static const std::map<std::string, const char*> kLetters = {
          {"added", "A"}, {"modified", "M"}, {"metadata", "m"}, {"deleted", "D"}};
      std::printf("%s %s\n", kLetters.at(kind), escape_path(change.path).c_str());
    }
  }));
  if (json) print_json(out);
  else
    std::fprintf(stderr, "%d added, %d modified, %d metadata-only, %d deleted\n", counts["added"],
                 counts["modified"], counts["metadata"], counts["deleted"]);
  return 0;
}

Result<int> image_export(Context& context, const Args& args) {
  CLI::App app{"Build the bootable artifact of a commit (cached per commit) and its manifest.",
               "goldroot image export"};
  std::string ref, format_name = "erofs", output;
  bool json = false;
  app.add_option("REF", ref, "image name, channel or commit")->required();
  app.add_option("--format", format_name, "erofs (default), squashfs or tar");
  app.add_option("--output", output,
                 "also write the artifact here (and OUTPUT.manifest.json, and an erofs image's "
                 "verity tree as OUTPUT.verity)");
  app.add_flag("--json", json, "print the export record as JSON");
  const char* builder_default = std::getenv("GOLDROOT_EROFS_BUILDER");
  std::string builder_name = builder_default ? builder_default : "native";
  app.add_option("--erofs-builder", builder_name,
                 "native (default; $GOLDROOT_EROFS_BUILDER) or mkfs (mkfs.erofs -zlz4hc)");
  std::string base_ref;
  bool fresh = false;
  bool no_patch = false;
  app.add_option("--base", base_ref,
                 "keep the layout of this image's erofs export (default: the nearest exported "
                 "ancestor), so clients holding it fetch little");
  app.add_flag("--fresh-layout", fresh,
               "lay the erofs image out afresh (still measured against the base)");
  app.add_flag("--no-patch", no_patch,
               "write no update patch from the base (clients holding the base then fetch the "
               "blocks they lack, uncompressed against it; saves the patch's time)");
  if (auto exit = parse_args(app, args)) return *exit;
  ExportFormat format = TRY(parse_export_format(format_name));
  ErofsBuilder builder = TRY(parse_erofs_builder(builder_name));
  auto site = TRY(context.open_site(LockMode::kExclusive, "image export " + ref));
  Digest id = TRY(site->store().resolve(ref));
  std::optional<Digest> base;
  if (!base_ref.empty()) base = TRY(site->store().resolve(base_ref));
  else if (format == ExportFormat::kErofs)
    base = TRY(find_base_export(site->store(), site->exports_dir(), id));
  ExportedImage exported =
      TRY(export_image(*site, id, format, builder, fresh ? std::nullopt : base,
                       no_patch ? UpdatePatch::kSkip : UpdatePatch::kWrite));
  Artifact& artifact = exported.artifact;
  if (fresh && base && !artifact.reused && format == ExportFormat::kErofs) {
    if (auto peer = TRY(cached_artifact(site->exports_dir(), *base, ExportFormat::kErofs))) {
      artifact.base_commit = *base;
      artifact.base_diff = TRY(diff_blocks(peer->path, artifact.path));
    }
  }
  if (!artifact.base_note.empty()) std::fprintf(stderr, "export: %s.\n", artifact.base_note.c_str());
  if (!artifact.patch_note.empty()) std::fprintf(stderr, "export: %s.\n", artifact.patch_note.c_str());
  // The patch for clients holding the base (image/export_patch.h), if one
  // was written: "<image>.patch-<base root>", copied beside --output too.
  const PatchSummary* patch =
      artifact.base_patch && !artifact.base_patch->path.empty() ? &*artifact.base_patch : nullptr;
  const std::string patch_name_suffix = patch ? patch->path.substr(artifact.path.size()) : "";
  if (!output.empty()) {
    TRY(site->env()->copy_file_atomic(artifact.path, output));
    if (artifact.verity) TRY(site->env()->copy_file_atomic(artifact.tree_path(), output + ".verity"));
    if (patch) TRY(site->env()->copy_file_atomic(patch->path, output + patch_name_suffix));
    if (exported.manifest)
      TRY(site->env()->write_file_atomic(output + ".manifest.json", *exported.manifest + "\n"));
  }
  if (json) {
    nlohmann::json record = artifact.to_json();
    record["path"] = artifact.path;
    record["reused"] = artifact.reused;
    if (artifact.base_commit && artifact.base_diff)
      record["base"] = {{"commit", artifact.base_commit->hex()},
                        {"blocks", artifact.base_diff->blocks},
                        {"differing_blocks", artifact.base_diff->missing},
                        {"changed_in_place", artifact.base_diff->changed_in_place}};
    if (patch)
      record["base"]["patch"] = {{"path", patch->path},
                                 {"bytes", patch->bytes},
                                 {"blocks", patch->target_blocks},
                                 {"hash_blocks", patch->tree_blocks},
                                 {"frames", patch->frames}};
    print_json(record);
  } else {
    std::printf("%s %s (%s, sha256 %s)%s\n", export_format_name(format), artifact.path.c_str(),
                human_bytes(artifact.size).c_str(), artifact.sha256.hex().c_str(),
                artifact.reused ? ", already built" : "");
    if (artifact.base_commit && artifact.base_diff) {
      const BlockDiff& diff = *artifact.base_diff;
      std::printf("export: %llu of %llu blocks (%s, %.1f%%) differ from the base export %s "
                  "(%llu differ at their offset)\n",
                  static_cast<unsigned long long>(diff.missing),
                  static_cast<unsigned long long>(diff.blocks), human_bytes(diff.missing * 4096).c_str(),
                  diff.blocks ? 100.0 * static_cast<double>(diff.missing) / static_cast<double>(diff.blocks) : 0.0,
                  artifact.base_commit->hex().substr(0, 12).c_str(),
                  static_cast<unsigned long long>(diff.changed_in_place));
      if (patch)
        std::printf("export: a client holding the base fetches %s: a patch of the %llu blocks it "
                    "lacks (%llu of them hash blocks), %s\n",
                    human_bytes(patch->bytes).c_str(),
                    static_cast<unsigned long long>(patch->target_blocks),
                    static_cast<unsigned long long>(patch->tree_blocks), patch->path.c_str());
    }
    if (artifact.verity)
      std::printf("verity %s (%s, root hash %s)\n", artifact.tree_path().c_str(),
                  human_bytes(artifact.tree_size).c_str(), artifact.verity->root_hash.hex().c_str());
    std::printf("kernel %s\ninitrd %s\n",
                artifact.kernel ? artifact.kernel->path.c_str() : "(none found under /boot)",
                artifact.initrd ? artifact.initrd->path.c_str() : "(none found under /boot)");
    if (exported.manifest)
      std::printf("manifest %s.manifest.json (signed with the site key)\n",
                  (output.empty() ? artifact.path : output).c_str());
    else
      std::printf("no boot manifest: %s\n", exported.unbootable.c_str());
  }
  return 0;
}

Result<int> image_uki(Context& context, const Args& args) {
  CLI::App app{"Build the signed unified kernel image (UKI) that boots a commit in one mode: "
               "systemd's EFI stub with the image's kernel, its initrd and the goldroot initrd, "
               "and the kernel command line, signed with the site's Secure Boot key (see 'goldroot "
               "site secure-boot'). Every host of that image and mode boots the same file. Prints "
               "its path; cached under SITE/exports/uki.",
               "goldroot image uki"};
  std::string ref, mode = "normal";
  UkiOptions options;
  bool json = false;
  app.add_option("REF", ref, "image name, channel or commit")->required();
  app.add_option("--mode", mode, "the boot mode it asks for (default normal; the server's "
                                 "signed manifest still decides)");
  app.add_option("--server", options.server,
                 "the boot server's URL as clients reach it, e.g. http://10.1.0.1:8080")
      ->required();
  app.add_option("--kernel-args", options.kernel_arguments,
                 "more kernel arguments, e.g. \"console=ttyS0\" (as serve --kernel-args)");
  app.add_option("--tools-dir", options.tools_dir,
                 "where goldroot-boot and goldroot-agent are (default: beside goldroot)");
  app.add_flag("--json", json, "print path, sha256, size, command line as JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kExclusive, "image uki " + ref));
  Digest id = TRY(site->store().resolve(ref));
  options.image_name = ref;
  Uki uki = TRY(build_site_uki(*site, id, mode, options));
  std::string command_line = TRY(uki_command_line(options.server, mode, options.kernel_arguments));
  if (json) {
    print_json({{"path", uki.path}, {"sha256", uki.sha256.hex()}, {"size", uki.size},
                {"commit", id.hex()}, {"mode", mode}, {"command_line", command_line},
                {"reused", uki.reused}});
  } else {
    std::printf("%s\n", uki.path.c_str());
    std::fprintf(stderr, "uki %s (%s)%s, command line: %s\n", uki.sha256.hex().substr(0, 12).c_str(),
                 human_bytes(uki.size).c_str(), uki.reused ? ", already built" : "",
                 command_line.c_str());
  }
  return 0;
}

Result<int> image_fsck(Context& context, const Args& args) {
  CLI::App app{"Verify every object; exit 1 naming each corrupt or missing object and the refs "
               "that need it.",
               "goldroot image fsck"};
  bool json = false;
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kShared, "image fsck"));
  FsckReport report = TRY(fsck(site->store()));
  if (json) {
    nlohmann::json problems = nlohmann::json::array();
    for (const Problem& p : report.problems)
      problems.push_back({{"problem", p.kind}, {"type", object_type_name(p.type)},
                          {"object", p.digest.hex()}, {"detail", p.detail},
                          {"needed_by", p.needed_by}});
    print_json({{"objects", report.objects_checked}, {"bytes", report.bytes_checked},
                {"ok", report.problems.empty()}, {"problems", problems}});
  } else {
    for (const Problem& p : report.problems)
      std::printf("%s %s object %s (%s); needed by %s\n", p.kind.c_str(),
                  object_type_name(p.type), p.digest.hex().c_str(), p.detail.c_str(),
                  p.needed_by.empty() ? "nothing" : join(p.needed_by, ", ").c_str());
    std::printf("checked %llu objects (%s): %s\n",
                static_cast<unsigned long long>(report.objects_checked),
                human_bytes(report.bytes_checked).c_str(),
                report.problems.empty()
                    ? "ok"
                    : (std::to_string(report.problems.size()) +
                       (report.problems.size() == 1 ? " problem" : " problems")).c_str());
  }
  return report.problems.empty() ? 0 : 1;
}

Result<int> image_gc(Context& context, const Args& args) {
  CLI::App app{"Remove objects that no image, channel, pin or recent channel history needs.",
               "goldroot image gc"};
  int history_days = 30;
  app.add_option("--history-days", history_days,
                 "keep commits channel history named in the last N days (default 30)")
      ->check(CLI::NonNegativeNumber);
  if (auto exit = parse_args(app, args)) return *exit;
  auto session = TRY(open_fleet(context, LockMode::kExclusive, "image gc"));
  Store& store = session.site->store();
  TRY(ChannelJournal(context.env, &store.refs(), store.dir()).recover());
  // --history-days 0: channel history keeps nothing.
  int64_t since = history_days == 0 ? INT64_MAX
                                    : context.env->now_seconds() - int64_t{history_days} * 86400;
  auto roots = TRY(site_roots(store, session.inventory, since));
  GcReport report = TRY(gc(store, roots));
  std::set<Digest> bootable;  // what someone may boot: every root, not mere ancestors
  for (const auto& [commit, names] : TRY(store.ref_roots())) bootable.insert(commit);
  for (const auto& [commit, why] : roots) bootable.insert(commit);
  PruneReport exports = TRY(prune_exports(session.site->exports_dir(), bootable));
  PruneReport initrds = TRY(prune_goldroot_initrds(session.site->exports_dir() + "/initrd",
                                                   bootable, context.env->now_seconds()));
  exports.files_removed += initrds.files_removed;
  exports.bytes_freed += initrds.bytes_freed;
  std::printf("removed %llu objects (%s) and %llu export files (%s); kept %llu objects\n",
              static_cast<unsigned long long>(report.objects_removed),
              human_bytes(report.bytes_freed).c_str(),
              static_cast<unsigned long long>(exports.files_removed),
              human_bytes(exports.bytes_freed).c_str(),
              static_cast<unsigned long long>(report.objects_kept));
  return 0;
}

Result<int> image_users(Context& context, const Args& args) {
  CLI::App app{"List the hosts assigned to a commit (by pin or through a channel) and the hosts "
               "running it (from their agents' reports).",
               "goldroot image users"};
  std::string ref;
  bool json = false;
  app.add_option("REF", ref, "image name, channel, commit id or prefix, NAME~N")->required();
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto session = TRY(open_fleet(context, LockMode::kShared, "image users"));
  Store& store = session.site->store();
  Digest commit = TRY(store.resolve(ref));
  auto channels = TRY(ChannelJournal(context.env, &store.refs(), store.dir()).view());
  auto assigned = TRY(hosts_assigned(session.inventory, channels, commit));
  auto running = TRY(hosts_running(session.inventory, commit));
  if (json) {
    auto list = [](const std::vector<CommitUser>& users) {
      nlohmann::json hosts = nlohmann::json::array();
      for (const CommitUser& user : users) hosts.push_back({{"host", user.host}, {"via", user.via}});
      return hosts;
    };
    print_json({{"commit", commit.hex()}, {"assigned", list(assigned)}, {"running", list(running)}});
    return 0;
  }
  std::printf("commit %s: %zu host%s assigned, %zu running it\n", commit.hex().c_str(),
              assigned.size(), assigned.size() == 1 ? "" : "s", running.size());
  for (const CommitUser& user : assigned) std::printf("  %-24s %s\n", user.host.c_str(), user.via.c_str());
  for (const CommitUser& user : running) std::printf("  %-24s %s\n", user.host.c_str(), user.via.c_str());
  return 0;
}

Result<int> image_rm(Context& context, const Args& args) {
  CLI::App app{"Remove an image name (its objects go at the next gc).", "goldroot image rm"};
  std::string name;
  app.add_option("NAME", name, "image name")->required();
  if (auto exit = parse_args(app, args)) return *exit;
  auto site = TRY(context.open_site(LockMode::kExclusive, "image rm " + name));
  auto current = TRY(site->store().refs().read(RefKind::kImage, name));
  if (!current) return make_error(ErrorCode::kNotFound, "there is no image named '" + name + "'");
  TRY(site->store().refs().remove(RefKind::kImage, name));
  std::printf("removed image %s (was %s)\n", name.c_str(), current->hex().c_str());
  return 0;
}

const Command kImageCommands[] = {
    {"import", "import a directory or tar archive as a new commit", image_import},
    {"list", "list images", image_list},
    {"log", "show an image's history", image_log},
    {"show", "show one commit", image_show},
    {"checkout", "reproduce a commit's tree in a directory", image_checkout},
    {"diff", "list paths that differ between two commits", image_diff},
    {"export", "build a commit's bootable erofs/squashfs/tar artifact", image_export},
    {"uki", "build a commit's signed unified kernel image for Secure Boot", image_uki},
    {"fsck", "verify every object", image_fsck},
    {"gc", "remove objects nothing needs", image_gc},
    {"users", "list the hosts assigned to a commit and those running it", image_users},
    {"rm", "remove an image name", image_rm},
};

}  // namespace

Result<int> run_image(Context& context, const Args& args) {
  return dispatch(context, kImageCommands, args, "goldroot image");
}

}  // namespace goldroot::cli

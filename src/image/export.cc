#include "image/export.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "base/strings.h"
#include "image/checkout.h"
#include "image/erofs_writer.h"
#include "image/export_patch.h"
#include "image/tree_builder.h"
#include "store/object_store.h"
#include "verity/hash_tree.h"
#include "verity/update_patch.h"
#include "sys/directory.h"
#include "sys/run_tool.h"
#include "sys/unique_fd.h"

namespace goldroot {

const char* export_format_name(ExportFormat format) {
  switch (format) {
    case ExportFormat::kErofs: return "erofs";
    case ExportFormat::kSquashfs: return "squashfs";
    case ExportFormat::kTar: return "tar";
  }
  return "erofs";
}

Result<ExportFormat> parse_export_format(const std::string& name) {
  if (name == "erofs") return ExportFormat::kErofs;
  if (name == "squashfs") return ExportFormat::kSquashfs;
  if (name == "tar") return ExportFormat::kTar;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown export format '" + name + "'; use erofs, squashfs or tar");
}

Result<ErofsBuilder> parse_erofs_builder(const std::string& name) {
  if (name == "native") return ErofsBuilder::kNative;
  if (name == "mkfs") return ErofsBuilder::kMkfs;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown erofs builder '" + name + "'; use native or mkfs");
}

namespace {

nlohmann::json boot_file_json(const std::optional<BootFile>& file) {
  if (!file) return nullptr;
  return {{"path", file->path}, {"sha256", file->sha256.hex()}, {"size", file->size}};
}

Result<std::optional<BootFile>> boot_file_from_json(const nlohmann::json& json) {
  if (json.is_null()) return std::optional<BootFile>();
  auto digest = Digest::from_hex(json.value("sha256", ""));
  if (!digest) return make_error(ErrorCode::kCorruption, "bad boot file digest");
  return std::optional<BootFile>(
      BootFile{json.value("path", ""), *digest, json.value("size", uint64_t{0})});
}

}  // namespace

nlohmann::json Artifact::to_json() const {
  nlohmann::json json = {{"commit", commit.hex()},
                         {"format", export_format_name(format)},
                         {"sha256", sha256.hex()},
                         {"size", size},
                         {"kernel", boot_file_json(kernel)},
                         {"initrd", boot_file_json(initrd)}};
  if (verity)
    json["verity"] = {{"root_hash", verity->root_hash.hex()},
                      {"salt", hex_encode(verity->salt)},
                      {"data_block_size", verity->data_block_size},
                      {"hash_block_size", verity->hash_block_size},
                      {"data_blocks", verity->data_blocks},
                      {"tree_sha256", tree_sha256.hex()},
                      {"tree_size", tree_size}};
  return json;
}

Result<Artifact> Artifact::from_json(const nlohmann::json& json) {
  Artifact artifact;
  auto commit = Digest::from_hex(json.value("commit", ""));
  auto sha = Digest::from_hex(json.value("sha256", ""));
  if (!commit || !sha) return make_error(ErrorCode::kCorruption, "bad export record");
  artifact.commit = *commit;
  artifact.sha256 = *sha;
  artifact.format = TRY(parse_export_format(json.value("format", "")));
  artifact.size = json.value("size", uint64_t{0});
  artifact.kernel = TRY(boot_file_from_json(json.value("kernel", nlohmann::json())));
  artifact.initrd = TRY(boot_file_from_json(json.value("initrd", nlohmann::json())));
  // Records from before verity trees have none: the next export adds it.
  if (auto found = json.find("verity"); found != json.end() && found->is_object()) {
    const nlohmann::json& verity = *found;
    auto root = Digest::from_hex(verity.value("root_hash", ""));
    auto tree = Digest::from_hex(verity.value("tree_sha256", ""));
    auto salt = hex_decode(verity.value("salt", ""));
    if (!root || !tree || !salt) return make_error(ErrorCode::kCorruption, "bad export record");
    VerityParams params;
    params.root_hash = *root;
    params.salt = std::move(*salt);
    params.data_block_size = verity.value("data_block_size", uint32_t{0});
    params.hash_block_size = verity.value("hash_block_size", uint32_t{0});
    params.data_blocks = verity.value("data_blocks", uint64_t{0});
    artifact.tree_sha256 = *tree;
    artifact.tree_size = verity.value("tree_size", uint64_t{0});
    if (params.data_blocks == 0 || params.data_block_size == 0 || params.hash_block_size == 0 ||
        params.data_size() != artifact.size)
      return make_error(ErrorCode::kCorruption, "bad export record");
    artifact.verity = std::move(params);
  }
  return artifact;
}

namespace {

// "6.1.0-28-amd64" sorts after "6.1.0-9-amd64": compare digit runs as numbers.
bool version_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t i2 = i, j2 = j;
      while (i2 < a.size() && std::isdigit(static_cast<unsigned char>(a[i2]))) ++i2;
      while (j2 < b.size() && std::isdigit(static_cast<unsigned char>(b[j2]))) ++j2;
      unsigned long long x = std::stoull(a.substr(i, i2 - i)), y = std::stoull(b.substr(j, j2 - j));
      if (x != y) return x < y;
      i = i2;
      j = j2;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

}  // namespace

Result<std::optional<BootFile>> resolve_image_file(const Store& store, TreeBuilder& tree,
                                                 std::string path) {
  for (int hops = 0; hops < 16; ++hops) {
    auto* node = TRY(tree.find(&store, path));
    if (!node) return std::optional<BootFile>();
    if (node->entry.type == FileType::kRegular)
      return std::optional<BootFile>(BootFile{"/" + path, node->entry.digest, node->entry.size});

    if (node->entry.type != FileType::kSymlink) return std::optional<BootFile>();
    const std::string& target = node->entry.target;
    if (!target.empty() && target[0] == '/') {
      path = target.substr(1);
    } else {
      std::string base = path.find('/') == std::string::npos ? "" : dirname_of(path);
      path = base.empty() ? target : base + "/" + target;
    }
    // Normalize "a/../b" without leaving the image.
    std::vector<std::string> parts;
    for (const std::string& part : split(path, '/')) {
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (!parts.empty()) parts.pop_back();
      } else {
        parts.push_back(part);
      }
    }
    path = join(parts, "/");
  }
  return std::optional<BootFile>();
}

Status find_boot_files(const Store& store, const Digest& commit, Artifact* artifact) {
  TreeBuilder tree = TRY(TreeBuilder::from_commit(store, commit));
  artifact->kernel = TRY(resolve_image_file(store, tree, "vmlinuz"));
  artifact->initrd = TRY(resolve_image_file(store, tree, "initrd.img"));
  if (artifact->kernel && artifact->initrd) return {};
  auto* boot = TRY(tree.find(&store, "boot"));
  if (!boot || boot->entry.type != FileType::kDirectory) return {};
  TRY(TreeBuilder::expand(store, *boot));
  std::string newest;
  for (const auto& [name, node] : boot->children)
    if (starts_with(name, "vmlinuz-") && (newest.empty() || version_less(newest, name))) newest = name;
  if (newest.empty()) return {};
  if (!artifact->kernel) artifact->kernel = TRY(resolve_image_file(store, tree, "boot/" + newest));
  if (!artifact->initrd)
    artifact->initrd =
        TRY(resolve_image_file(store, tree, "boot/initrd.img-" + newest.substr(8)));
  return {};
}

namespace {

std::string artifact_path(const std::string& exports_dir, const Digest& commit,
                          ExportFormat format) {
  return exports_dir + "/" + commit.hex() + "." + export_format_name(format);
}

// Where to stage a checkout: tmpfs when it has room for it twice over.
std::string staging_base(uint64_t bytes, const std::string& fallback) {
  struct statvfs vfs;
  if (::statvfs("/dev/shm", &vfs) == 0 &&
      static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize > 2 * bytes + (64u << 20))
    return "/dev/shm";
  return fallback;
}

Status write_tar(const Store& store, const Digest& commit_id, const std::string& output);

}  // namespace

std::string artifact_url(const Artifact& artifact) {
  return "/images/" + artifact.sha256.hex() + "." + export_format_name(artifact.format);
}

std::string verity_tree_url(const Artifact& artifact) {
  return "/images/" + artifact.sha256.hex() + ".verity";
}

std::string verity_salt() {
  Sha256 hash;
  hash.update("goldroot-verity-salt\n");
  Digest salt = hash.finish();
  return std::string(reinterpret_cast<const char*>(salt.bytes.data()), salt.bytes.size());
}

namespace {

// Builds the verity tree of the image at `image_path` (which holds
// `artifact`'s bytes) and writes it durably to artifact->tree_path();
// fills in artifact->verity and the tree's digest and size.
Status write_verity_tree(Env* env, const std::string& image_path, Artifact* artifact) {
  constexpr uint32_t kBlockSize = 4096;
  VerityParams params;
  params.data_block_size = kBlockSize;
  params.hash_block_size = kBlockSize;
  params.salt = verity_salt();
  std::string what = "the verity tree of image " + artifact->commit.hex().substr(0, 12);
  auto built = build_verity_tree_of_file(image_path, kBlockSize, kBlockSize, params.salt);
  if (!built.ok()) return std::move(built).context("building " + what).error();
  params.data_blocks = artifact->size / kBlockSize;
  params.root_hash = built->root_hash;
  TRY(env->write_file_atomic(artifact->tree_path(), built->tree).context("writing " + what));
  artifact->tree_sha256 = Sha256::of(built->tree);
  artifact->tree_size = built->tree.size();
  artifact->verity = std::move(params);
  return {};
}

// Whether the tree file of an erofs `artifact` is there at its recorded
// size; a record from before trees, or a tree removed by hand, is not.
bool has_verity_tree(const Artifact& artifact) {
  struct stat st;
  return artifact.verity && ::stat(artifact.tree_path().c_str(), &st) == 0 &&
         static_cast<uint64_t>(st.st_size) == artifact.tree_size;
}

}  // namespace

Result<BootManifest> boot_manifest_of(const Artifact& artifact) {
  if (!artifact.kernel || !artifact.initrd)
    return make_error(ErrorCode::kNotFound,
                      "image " + artifact.commit.hex().substr(0, 12) + " has no " +
                          (artifact.kernel ? "initrd" : "kernel") +
                          " under /boot (install linux-image-amd64 in the image)");
  BootManifest manifest;
  manifest.image = {artifact.sha256, artifact.size, export_format_name(artifact.format),
                    artifact_url(artifact)};
  if (artifact.verity)
    manifest.image.verity = ImageVerity{*artifact.verity, artifact.tree_size,
                                        verity_tree_url(artifact)};
  manifest.commit = artifact.commit;
  manifest.kernel = *artifact.kernel;
  manifest.initrd = *artifact.initrd;
  return manifest;
}

Result<std::string> signed_manifest(const Artifact& artifact, const SigningKey& key) {
  return sign_boot_manifest(TRY(boot_manifest_of(artifact)), key);
}

Result<std::optional<Artifact>> cached_artifact(const std::string& exports_dir,
                                                const Digest& commit, ExportFormat format) {
  std::string record_path = artifact_path(exports_dir, commit, format) + ".json";
  std::ifstream in(record_path);
  if (!in) return std::optional<Artifact>();
  nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
  if (json.is_discarded()) return std::optional<Artifact>();
  auto artifact = Artifact::from_json(json);
  if (!artifact.ok()) return std::optional<Artifact>();
  artifact->path = artifact_path(exports_dir, commit, format);
  struct stat st;
  if (::stat(artifact->path.c_str(), &st) != 0 ||
      static_cast<uint64_t>(st.st_size) != artifact->size)
    return std::optional<Artifact>();
  artifact->reused = true;
  return std::optional<Artifact>(std::move(artifact).value());
}

Result<std::optional<Digest>> find_base_export(const Store& store, const std::string& exports_dir,
                                               const Digest& commit) {
  std::vector<Digest> generation = {commit};
  std::set<Digest> seen = {commit};
  for (int depth = 0; depth < 64 && !generation.empty(); ++depth) {
    std::vector<Digest> parents;
    for (const Digest& id : generation) {
      auto parsed = store.objects().read_commit(id);
      if (!parsed.ok()) continue;  // a shallow history ends here
      for (const Digest& parent : parsed->parents)
        if (seen.insert(parent).second) parents.push_back(parent);
    }
    for (const Digest& parent : parents)
      if (TRY(cached_artifact(exports_dir, parent, ExportFormat::kErofs)))
        return std::optional<Digest>(parent);
    generation = std::move(parents);
  }
  return std::optional<Digest>();
}

namespace {

// The layout of the cached erofs export of `base`, or why there is none.
std::optional<erofs::ErofsLayout> base_layout(Env* env, const std::optional<Artifact>& base,
                                              std::string* why) {
  if (!base) {
    *why = "it is not in the export cache";
    return std::nullopt;
  }
  auto data = env->read_file(base->layout_path());
  if (!data.ok()) {
    *why = "it has no layout file";
    return std::nullopt;
  }
  auto layout = erofs::ErofsLayout::parse(*data);
  if (!layout.ok()) {
    *why = layout.error().message;
    return std::nullopt;
  }
  return std::move(layout).value();
}

// The update patch from `base` beside the new image (image/export_patch.h);
// a failure costs its clients the patch, not the export: one sentence in
// artifact->patch_note.
void write_patch(Env* env, const Artifact& base, const std::optional<erofs::ErofsLayout>& base_layout,
                 const std::string& image_path, const erofs::ErofsLayout& layout, Artifact* artifact) {
  if (!base.verity || !has_verity_tree(base) || !artifact->verity) return;
  PatchInput from{base.path, base.tree_path(), *base.verity};
  PatchInput to{image_path, artifact->tree_path(), *artifact->verity};
  auto written = write_update_patch(env, from, base_layout, to, layout,
                                    artifact->path + patch_suffix(base.verity->root_hash));
  if (written.ok()) artifact->base_patch = *written;
  else artifact->patch_note = "no update patch from the base export: " + written.error().message;
}

}  // namespace

Result<Artifact> export_commit(const Store& store, const std::string& exports_dir,
                               const std::string& staging_dir, const Digest& commit,
                               ExportFormat format, ErofsBuilder builder,
                               std::optional<Digest> base, UpdatePatch patch) {
  if (auto cached = TRY(cached_artifact(exports_dir, commit, format))) {
    if (format != ExportFormat::kErofs || has_verity_tree(*cached)) return *cached;
    // Exported before verity trees (or its tree was removed): the image
    // stays, only its tree is built, then the record says so.
    TRY(write_verity_tree(store.env(), cached->path, &*cached));
    TRY(store.env()->write_file_atomic(cached->path + ".json", cached->to_json().dump(2) + "\n"));
    return *cached;
  }
  Commit parsed = TRY(store.objects().read_commit(commit));
  Env* env = store.env();
  TRY(env->create_dir(exports_dir));
  Artifact artifact;
  artifact.commit = commit;
  artifact.format = format;
  artifact.path = artifact_path(exports_dir, commit, format);
  TRY(find_boot_files(store, commit, &artifact));

  std::string temporary = artifact.path + ".tmp";
  ::unlink(temporary.c_str());
  std::string what = std::string("the ") + export_format_name(format) + " image of " +
                     commit.hex().substr(0, 12);
  // With a base: its export and layout, and this one's (for the patch).
  std::optional<Artifact> base_artifact;
  std::optional<erofs::ErofsLayout> layout, new_layout;
  if (format == ExportFormat::kTar) {
    TRY(write_tar(store, commit, temporary));
  } else if (format == ExportFormat::kErofs && builder == ErofsBuilder::kNative) {
    ErofsOptions options;
    std::string why;
    if (base && *base != commit) {
      base_artifact = TRY(cached_artifact(exports_dir, *base, ExportFormat::kErofs));
      layout = base_layout(env, base_artifact, &why);
      if (layout) options.base = &*layout;
    }
    auto written = write_erofs(store, commit, temporary, options);
    if (!written.ok()) {
      ::unlink(temporary.c_str());
      return std::move(written).context("building " + what).error();
    }
    if (!written->base_note.empty()) why = written->base_note;
    if (base_artifact) {
      artifact.base_commit = base_artifact->commit;
      auto diff = diff_blocks(base_artifact->path, temporary);
      if (diff.ok()) artifact.base_diff = *diff;
    }
    if (base && *base != commit && !written->used_base)
      artifact.base_note = "not keeping the layout of the base export " +
                           base->hex().substr(0, 12) + ": " + why + "; the image has a fresh layout";
    // Beside the image before the record names it; the next export's base.
    Status kept = env->write_file_atomic(artifact.layout_path(), written->layout.serialize());
    if (!kept.ok()) {
      ::unlink(temporary.c_str());
      return std::move(kept).context("writing the layout of " + what).error();
    }
    new_layout = std::move(written->layout);
  } else {
    ::unlink(artifact.layout_path().c_str());  // a native export's, now stale
    std::string base = staging_base(parsed.size, staging_dir);
    std::string pattern = base + "/goldroot-export-XXXXXX";
    if (!::mkdtemp(pattern.data())) return errno_error("creating a staging directory", errno);
    std::string staging = pattern;
    struct Cleanup {
      std::string path;
      ~Cleanup() { remove_tree(path); }
    } cleanup{staging};
    std::string tree = staging + "/root";
    TRY(checkout(store, commit, tree));
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    if (format == ExportFormat::kErofs) {
      TRY(run_tool({"mkfs.erofs", "-zlz4hc", "--preserve-mtime", "--quiet", temporary, tree},
                   what));
    } else {
      TRY(run_tool({"mksquashfs", tree, temporary, "-comp", "zstd", "-noappend", "-no-progress",
                    "-quiet", "-xattrs", "-processors", std::to_string(cores)},
                   what));
    }
  }
  artifact.sha256 = TRY(sha256_of_file(temporary, &artifact.size));
  // The tree and the artifact, then their record: a record always describes
  // complete files.
  if (format == ExportFormat::kErofs) {
    Status tree = write_verity_tree(env, temporary, &artifact);
    if (!tree.ok()) {
      ::unlink(temporary.c_str());
      return std::move(tree).error();
    }
    if (base_artifact && new_layout && patch == UpdatePatch::kWrite)
      write_patch(env, *base_artifact, layout, temporary, *new_layout, &artifact);
  }
  TRY(env->publish_file(temporary, artifact.path));
  TRY(env->write_file_atomic(artifact.path + ".json", artifact.to_json().dump(2) + "\n"));
  return artifact;
}

namespace {

struct ArchiveWriter {
  struct archive* archive = archive_write_new();
  ~ArchiveWriter() { archive_write_free(archive); }
};

class TarWriter {
 public:
  TarWriter(const Store& store, struct archive* archive, const Commit& commit)
      : store_(store), archive_(archive) {
    for (const auto& group : commit.hardlinks)
      for (size_t i = 1; i < group.size(); ++i) first_of_[group[i]] = group[0];
  }

  Status write_entry(const std::string& path, const Entry& entry) {
    std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> header(
        archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(header.get(), path.c_str());
    archive_entry_set_uid(header.get(), entry.uid);
    archive_entry_set_gid(header.get(), entry.gid);
    archive_entry_set_perm(header.get(), entry.mode);
    archive_entry_set_mtime(header.get(), entry.mtime_sec, entry.mtime_nsec);
    for (const auto& [key, value] : entry.xattrs)
      archive_entry_xattr_add_entry(header.get(), key.c_str(), value.data(), value.size());
    auto link = first_of_.find(path);
    if (link != first_of_.end() && entry.type != FileType::kDirectory) {
      archive_entry_set_filetype(header.get(), AE_IFREG);
      archive_entry_set_hardlink(header.get(), link->second.c_str());
      archive_entry_set_size(header.get(), 0);
      return write_header(header.get(), path);
    }
    archive_entry_set_filetype(header.get(), mode_type_bits(entry.type));
    if (entry.type == FileType::kSymlink) archive_entry_set_symlink(header.get(), entry.target.c_str());
    if (entry.type == FileType::kCharDevice || entry.type == FileType::kBlockDevice)
      archive_entry_set_rdev(header.get(), static_cast<dev_t>(entry.rdev));
    archive_entry_set_size(header.get(),
                           entry.type == FileType::kRegular ? static_cast<la_int64_t>(entry.size) : 0);
    TRY(write_header(header.get(), path));
    if (entry.type == FileType::kRegular && entry.size) {
      UniqueFd fd = TRY(store_.objects().open_file(entry.digest));
      std::string buffer(1 << 18, '\0');
      for (;;) {
        ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0) return errno_error("reading object " + entry.digest.hex(), errno);
        if (n == 0) break;
        if (archive_write_data(archive_, buffer.data(), static_cast<size_t>(n)) != n)
          return make_error(ErrorCode::kIo, std::string("writing the tar: ") +
                                                archive_error_string(archive_));
      }
    }
    if (entry.type == FileType::kDirectory) {
      Tree tree = TRY(store_.objects().read_tree(entry.digest));
      for (const Entry& child : tree.entries)
        TRY(write_entry(path == "." ? child.name : path + "/" + child.name, child));
    }
    return {};
  }

 private:
  Status write_header(struct archive_entry* header, const std::string& path) {
    if (archive_write_header(archive_, header) < ARCHIVE_WARN)
      return make_error(ErrorCode::kIo, "writing the tar entry for " + escape_path(path) + ": " +
                                            archive_error_string(archive_));
    return {};
  }

  const Store& store_;
  struct archive* archive_;
  std::map<std::string, std::string> first_of_;
};

Status write_tar(const Store& store, const Digest& commit_id, const std::string& output) {
  Commit commit = TRY(store.objects().read_commit(commit_id));
  Tree root = TRY(store.objects().read_tree(commit.root));
  ArchiveWriter writer;
  archive_write_set_format_pax(writer.archive);  // full pax: nanosecond mtimes, xattrs
  if (archive_write_open_filename(writer.archive, output.c_str()) != ARCHIVE_OK)
    return make_error(ErrorCode::kIo, "writing " + output + ": " +
                                          archive_error_string(writer.archive));
  TarWriter tar(store, writer.archive, commit);
  TRY(tar.write_entry(".", root.entries.at(0)));
  if (archive_write_close(writer.archive) != ARCHIVE_OK)
    return make_error(ErrorCode::kIo, "writing " + output + ": " +
                                          archive_error_string(writer.archive));
  return {};
}

}  // namespace

Result<PruneReport> prune_exports(const std::string& exports_dir, const std::set<Digest>& keep) {
  PruneReport report;
  UniqueFd dir(::open(exports_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) {
    if (errno == ENOENT) return report;
    return errno_error("opening " + exports_dir, errno);
  }
  for (const std::string& name : TRY(read_directory(dir.get(), exports_dir))) {
    // "<commit hex>.<format>[.json|.manifest.json]"; anything else stays.
    if (name.size() < 66 || name[64] != '.') continue;
    auto commit = Digest::from_hex(std::string_view(name).substr(0, 64));
    if (!commit || keep.count(*commit)) continue;
    struct stat st;
    if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (::unlinkat(dir.get(), name.c_str(), 0) != 0)
      return errno_error("removing " + exports_dir + "/" + name, errno);
    ++report.files_removed;
    report.bytes_freed += static_cast<uint64_t>(st.st_size);
  }
  return report;
}

}  // namespace goldroot

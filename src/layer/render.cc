#include "layer/render.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "base/scope_guard.h"
#include "base/strings.h"
#include "layer/layer_writers.h"
#include "sys/env.h"
#include "sys/unique_fd.h"

namespace goldroot {

namespace {

void remove_tree(const std::string& path) {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

// A file output needs one fsync; a directory tree of many files is cheaper
// to make durable with one syncfs than with an fsync per file.
Status sync_path(const std::string& path, OutputFormat format) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("opening " + path, errno);
  int rc = format == OutputFormat::kDirectory ? ::syncfs(fd.get()) : ::fsync(fd.get());
  if (rc != 0) return errno_error("syncing " + path, errno);
  return {};
}

}  // namespace

Result<const std::string*> SourceCache::contents(const MergedNode& node) {
  const struct stat& st = node.st;
  auto found = files_.find(node.source);
  if (found != files_.end()) {
    const Cached& cached = found->second;
    if (cached.inode == st.st_ino && cached.size == st.st_size &&
        cached.mtime.tv_sec == st.st_mtim.tv_sec && cached.mtime.tv_nsec == st.st_mtim.tv_nsec)
      return &cached.data;
  }
  std::string data = TRY(read_file_no_follow(node.source));
  Cached& cached = files_[node.source];
  cached = {st.st_ino, st.st_size, st.st_mtim, std::move(data)};
  return &cached.data;
}

Result<RenderedLayer> build_rendered_layer(const std::vector<LayerRef>& layers,
                                           const TemplateVariables& variables) {
  MergedLayer merged = TRY(merge_layers(layers));  // outside the braces: see report.cc
  RenderedLayer rendered{layers, std::move(merged), {}};
  for (const auto& [path, node] : rendered.merged.nodes) {
    if (node.kind != NodeKind::kTemplate) continue;
    std::string text = TRY(read_file_no_follow(node.source));
    rendered.contents[path] =
        TRY(render_template(text, variables, node.layer + "/" + path + kTemplateSuffix));
  }
  return rendered;
}

OutputFormat output_format_for(const std::string& output) {
  if (ends_with(output, ".tar")) return OutputFormat::kTar;
  if (ends_with(output, ".erofs")) return OutputFormat::kErofs;
  return OutputFormat::kDirectory;
}

Status write_layer(const RenderedLayer& layer, const std::string& output, OutputFormat format,
                   const WriteOptions& options) {
  std::string destination = output;
  while (destination.size() > 1 && destination.back() == '/') destination.pop_back();
  struct stat st;
  bool exists = ::lstat(destination.c_str(), &st) == 0;
  if (exists && options.replace == Replace::kNo)
    return make_error(ErrorCode::kAlreadyExists,
                      destination + " already exists; remove it or pass --force to replace it");
  if (exists && format == OutputFormat::kDirectory && !S_ISDIR(st.st_mode))
    return make_error(ErrorCode::kInvalidArgument,
                      destination + " exists and is not a directory; refusing to replace it");
  if (exists && format != OutputFormat::kDirectory && S_ISDIR(st.st_mode))
    return make_error(ErrorCode::kInvalidArgument,
                      destination + " is a directory; refusing to replace it with a file");

  std::string temporary = destination + ".tmp-" + std::to_string(::getpid());
  std::string scratch = temporary + ".d";
  remove_tree(temporary);
  ScopeGuard cleanup([&] {
    remove_tree(temporary);
    remove_tree(scratch);
  });
  switch (format) {
    case OutputFormat::kDirectory:
      TRY(write_layer_directory(layer, temporary, options.sources));
      break;
    case OutputFormat::kTar:
      TRY(write_layer_tar(layer, temporary, options.sources));
      break;
    case OutputFormat::kErofs:
      TRY(write_layer_erofs(layer, temporary, scratch));
      break;
  }
  if (options.durability == Durability::kSync) TRY(sync_path(temporary, format));

  if (exists && format == OutputFormat::kDirectory) {
    // Swap the new tree in atomically, then drop the old one.
    if (::renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, destination.c_str(), RENAME_EXCHANGE) !=
        0)
      return errno_error("replacing " + destination, errno);
  } else if (::rename(temporary.c_str(), destination.c_str()) != 0) {
    return errno_error("renaming " + temporary + " to " + destination, errno);
  }
  if (options.durability == Durability::kSync) {
    UniqueFd dir(::open(dirname_of(destination).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.valid()) ::fsync(dir.get());
  }
  return {};  // the guard removes the old tree now at `temporary`
}

Digest fingerprint(const RenderedLayer& layer) {
  Sha256 hash;
  auto number = [&hash](int64_t value) { hash.update(&value, sizeof value); };
  auto text = [&hash, &number](std::string_view value) {
    number(static_cast<int64_t>(value.size()));
    hash.update(value);
  };
  for (const auto& [path, node] : layer.merged.nodes) {
    text(path);
    number(static_cast<int64_t>(node.kind));
    text(node.source);
    text(node.link_target);
    number(node.opaque);
    const struct stat& st = node.st;
    for (int64_t value : {static_cast<int64_t>(st.st_dev), static_cast<int64_t>(st.st_ino),
                          static_cast<int64_t>(st.st_size), static_cast<int64_t>(st.st_mode),
                          static_cast<int64_t>(st.st_uid), static_cast<int64_t>(st.st_gid),
                          static_cast<int64_t>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec,
                          static_cast<int64_t>(st.st_ctim.tv_sec), st.st_ctim.tv_nsec})
      number(value);
  }
  for (const auto& [path, contents] : layer.contents) {
    text(path);
    text(contents);
  }
  return hash.finish();
}

Result<RenderedLayer> render_host_layer(Inventory& inventory, const std::string& layers_dir,
                                        const std::string& host) {
  HostProfile profile = TRY(load_host_profile(inventory, host));
  auto layers = TRY(host_layers(layers_dir, profile));
  return TRY(
      build_rendered_layer(layers, template_variables(profile)).context("rendering host " + host));
}

Status render_host_layer_to(Inventory& inventory, const std::string& layers_dir,
                            const std::string& host, const std::string& output, OutputFormat format,
                            const WriteOptions& options) {
  RenderedLayer layer = TRY(render_host_layer(inventory, layers_dir, host));
  return write_layer(layer, output, format, options);
}

}  // namespace goldroot

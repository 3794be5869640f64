#include "layer/merge.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/strings.h"
#include "sys/directory.h"
#include "sys/unique_fd.h"

namespace goldroot {

namespace {

class Merger {
 public:
  explicit Merger(MergedLayer& out) : out_(out) {}

  Status add_layer(const LayerRef& layer) {
    layer_ = &layer;
    UniqueFd fd(::open(layer.path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return errno_error("opening layer " + layer.name, errno);
    return walk(fd.get(), "");
  }

 private:
  Error error(const std::string& relative, const std::string& message) {
    return make_error(ErrorCode::kInvalidArgument,
                      "layer " + layer_->name + ": " + relative + " " + message);
  }

  // Removes `path` and everything below it; returns the layers that had it.
  std::vector<std::string> remove_tree(const std::string& path) {
    std::vector<std::string> had;
    auto it = out_.nodes.find(path);
    if (it != out_.nodes.end()) {
      had = it->second.overridden;
      if (it->second.kind != NodeKind::kWhiteout) had.push_back(it->second.layer);
      out_.nodes.erase(it);
    }
    std::string prefix = path + "/";
    for (auto child = out_.nodes.lower_bound(prefix);
         child != out_.nodes.end() && starts_with(child->first, prefix);)
      child = out_.nodes.erase(child);
    return had;
  }

  void put(const std::string& path, MergedNode node) {
    node.layer = layer_->name;
    auto existing = out_.nodes.find(path);
    if (node.kind == NodeKind::kDirectory && existing != out_.nodes.end() &&
        existing->second.kind == NodeKind::kDirectory) {
      // Directories merge; the later layer's metadata wins.
      MergedNode& dir = existing->second;
      dir.overridden.push_back(dir.layer);
      dir.layer = node.layer;
      dir.source = node.source;
      dir.st = node.st;
      return;
    }
    bool was_deleted = existing != out_.nodes.end() && existing->second.kind == NodeKind::kWhiteout;
    node.overridden = remove_tree(path);
    if (node.kind == NodeKind::kDirectory && was_deleted) node.opaque = true;
    out_.nodes.emplace(path, std::move(node));
  }

  Status check_symlink(const std::string& relative, const std::string& target) {
    if (target.empty() || target[0] == '/') return {};
    // Depth of the link's directory below the layer root.
    int depth = 0;
    for (char c : relative) depth += c == '/';
    for (const std::string& part : split(target, '/')) {
      if (part == "..")
        --depth;
      else if (!part.empty() && part != ".")
        ++depth;
      if (depth < 0)
        return error(relative, "is a symlink to " + target +
                                   ", which escapes the layer through '..'; refusing it");
    }
    return {};
  }

  Status walk(int dir_fd, const std::string& prefix) {
    std::vector<std::string> names =
        TRY(read_directory(dir_fd, "layer " + layer_->name + "/" + prefix));
    for (const std::string& name : names) {
      if (ends_with(name, kTemplateSuffix) &&
          std::binary_search(names.begin(), names.end(), name.substr(0, name.size() - 5)))
        return error(prefix + name, "and " + prefix + name.substr(0, name.size() - 5) +
                                        " are both present; keep one");
    }
    // Deletions first: a marker removes what earlier layers had, so NAME
    // and NAME.goldroot-delete in one layer replace NAME wholesale.
    for (const std::string& name : names)
      if (ends_with(name, kDeleteSuffix)) TRY(add_entry(dir_fd, prefix, name));
    for (const std::string& name : names)
      if (!ends_with(name, kDeleteSuffix)) TRY(add_entry(dir_fd, prefix, name));
    return {};
  }

  Status add_entry(int dir_fd, const std::string& prefix, const std::string& name) {
    std::string relative = prefix + name;
    MergedNode node;
    node.source = layer_->path + "/" + relative;
    if (::fstatat(dir_fd, name.c_str(), &node.st, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error("reading layer " + layer_->name + "/" + relative, errno);
    mode_t type = node.st.st_mode & S_IFMT;
    if (ends_with(name, kDeleteSuffix) && name.size() > std::string_view(kDeleteSuffix).size()) {
      std::string target =
          prefix + name.substr(0, name.size() - std::string_view(kDeleteSuffix).size());
      if (type == S_IFDIR)
        return error(relative, "is a directory; a deletion marker must be a file");
      node.kind = NodeKind::kWhiteout;
      put(target, std::move(node));
      return {};
    }
    if (type == S_IFCHR && node.st.st_rdev == 0) {
      node.kind = NodeKind::kWhiteout;
      put(relative, std::move(node));
      return {};
    }
    if (ends_with(name, kTemplateSuffix) && name.size() > 5) {
      if (type != S_IFREG)
        return error(relative,
                     "is not a regular file; a template must be one (symlinked "
                     "templates are refused)");
      node.kind = NodeKind::kTemplate;
      put(prefix + name.substr(0, name.size() - 5), std::move(node));
      return {};
    }
    switch (type) {
      case S_IFREG:
        node.kind = NodeKind::kFile;
        break;
      case S_IFLNK: {
        char target[4096];
        ssize_t length = ::readlinkat(dir_fd, name.c_str(), target, sizeof target);
        if (length < 0) return errno_error("reading layer " + layer_->name + "/" + relative, errno);
        node.link_target.assign(target, static_cast<size_t>(length));
        TRY(check_symlink(relative, node.link_target));
        node.kind = NodeKind::kSymlink;
        break;
      }
      case S_IFDIR: {
        node.kind = NodeKind::kDirectory;
        put(relative, std::move(node));
        UniqueFd child(
            ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!child.valid())
          return errno_error("opening layer " + layer_->name + "/" + relative, errno);
        return walk(child.get(), relative + "/");
      }
      case S_IFSOCK:
        return error(relative, "is a socket, which a layer cannot carry");
      default:
        node.kind = NodeKind::kSpecial;
        break;
    }
    put(relative, std::move(node));
    return {};
  }

  MergedLayer& out_;
  const LayerRef* layer_ = nullptr;
};

}  // namespace

const char* node_kind_name(NodeKind kind) {
  switch (kind) {
    case NodeKind::kFile:
      return "file";
    case NodeKind::kTemplate:
      return "template";
    case NodeKind::kSymlink:
      return "symlink";
    case NodeKind::kDirectory:
      return "directory";
    case NodeKind::kWhiteout:
      return "deleted";
    case NodeKind::kSpecial:
      return "special";
  }
  return "file";
}

Result<MergedLayer> merge_layers(const std::vector<LayerRef>& layers) {
  MergedLayer merged;
  Merger merger(merged);
  for (const LayerRef& layer : layers) TRY(merger.add_layer(layer));
  return merged;
}

Result<std::string> normalize_layer_path(const std::string& path) {
  std::vector<std::string> parts;
  for (const std::string& part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return make_error(ErrorCode::kInvalidArgument,
                        "path '" + path + "' contains '..'; layer paths may not leave the layer");
    parts.push_back(part);
  }
  return join(parts, "/");
}

}  // namespace goldroot

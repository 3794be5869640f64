#include "overlay/upper_tree.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "base/strings.h"
#include "image/fs_entry.h"
#include "sys/directory.h"
#include "image/tree_builder.h"
#include "sys/open_beneath.h"
#include "base/parallel.h"

namespace goldroot {

std::string child_path(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "/" + name;
}

std::string absolute_path(const std::string& relative) { return "/" + relative; }

const UpperNode* UpperNode::child(const std::string& wanted) const {
  auto it = std::lower_bound(children.begin(), children.end(), wanted,
                             [](const auto& node, const std::string& n) { return node->name < n; });
  return it != children.end() && (*it)->name == wanted ? it->get() : nullptr;
}

std::optional<std::string> UpperNode::child_origin_base() const {
  if (kind != Kind::kDirectory || opaque) return std::nullopt;
  return origin;
}

namespace {

// Where the lower object under `parent`'s child `name` lives.
Result<std::optional<std::string>> origin_of(const UpperNode& parent, const std::string& name,
                                             const std::optional<std::string>& redirect,
                                             const std::string& display) {
  std::optional<std::string> base = parent.child_origin_base();
  if (!redirect) return base ? std::optional(child_path(*base, name)) : std::nullopt;
  const std::string& target = *redirect;
  if (starts_with(target, "/")) {
    auto parts = split_relative_path(target, "the redirect of " + display);
    if (!parts.ok() || parts->empty())
      return make_error(ErrorCode::kCorruption,
                        display + " has an invalid overlay redirect '" + escape_path(target) + "'");
    return std::optional(join(*parts, "/"));
  }
  if (target.empty() || target == "." || target == ".." || target.find('/') != std::string::npos)
    return make_error(ErrorCode::kCorruption,
                      display + " has an invalid overlay redirect '" + escape_path(target) + "'");
  return base ? std::optional(child_path(*base, target)) : std::nullopt;
}

// Calls visit(node) for every node below `root`, each directory's
// children in order, depth first.
template <typename Visit>
void for_each_below(const UpperNode& root, Visit visit) {
  std::vector<const UpperNode*> pending{&root};
  while (!pending.empty()) {
    const UpperNode* node = pending.back();
    pending.pop_back();
    for (const auto& child : node->children) {
      visit(*child);
      if (child->is_directory()) pending.push_back(child.get());
    }
  }
}

}  // namespace

Result<UpperTree> UpperTree::read(const std::string& upper_dir,
                                  const OverlayConventions& conventions,
                                  const ReadFunction& entries_read) {
  UpperTree tree;
  tree.dir_ = upper_dir;
  tree.fd_.reset(::open(upper_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!tree.fd_.valid()) {
    if (errno == ENOENT)
      return make_error(ErrorCode::kNotFound, "the upper dir " + upper_dir + " does not exist");
    if (errno == ENOTDIR)
      return make_error(ErrorCode::kInvalidArgument,
                        "the upper dir " + upper_dir + " is not a directory");
    return errno_error("opening the upper dir " + upper_dir, errno);
  }
  struct stat st;
  if (::fstat(tree.fd_.get(), &st) != 0) return errno_error("reading " + upper_dir, errno);
  tree.root_ = std::make_unique<UpperNode>();
  UpperNode& root = *tree.root_;
  root.kind = UpperNode::Kind::kDirectory;
  root.origin = "";
  root.entry = TRY(read_entry(tree.fd_.get(), ".", st, upper_dir));
  Xattrs raw = std::move(root.entry.xattrs);
  root.entry.xattrs = conventions.visible(raw);
  root.entry.name = ".";
  // The root is always merged with the lower root: the kernel ignores
  // opaque there ("x" on a layer root only announces xwhiteouts).
  root.opaque = false;
  root.device = st.st_dev;
  root.inode = st.st_ino;
  TRY(tree.read_all(std::move(raw), conventions, entries_read));
  tree.drop_vanished(*tree.root_);
  return tree;
}

Status UpperTree::read_all(Xattrs root_raw, const OverlayConventions& conventions,
                           const ReadFunction& entries_read) {
  constexpr size_t kSlice = 64;
  std::mutex mutex;  // guards the counters
  std::function<Status(DirTask&, std::vector<DirTask>&)> visit =
      [&](DirTask& task, std::vector<DirTask>& more) -> Status {
    const std::string display = dir_ + absolute_path(task.node->path);
    auto opened = open_beneath(fd_.get(), task.node->path,
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW, display);
    // A live upper (the agent reads its own) may lose a dir mid-walk.
    if (!opened.ok() && opened.error().code == ErrorCode::kNotFound) return {};
    UniqueFd fd = TRY(std::move(opened));
    if (!task.names) {
      auto names = std::make_shared<const std::vector<std::string>>(TRY(read_directory(fd.get(), display)));
      task.node->children.resize(names->size());
      task.names = names;
      task.end = std::min(names->size(), kSlice);
      for (size_t begin = kSlice; begin < names->size(); begin += kSlice)
        more.push_back({task.node, task.xwhiteouts, names, begin,
                        std::min(names->size(), begin + kSlice)});
    }
    uint64_t objects = 0, file_bytes = 0;
    TRY(read_entries(fd.get(), task, conventions, &more, &objects, &file_bytes));
    // Before the subdirectories are queued (once this visit returns), so
    // that a reader loading the lower dir here has it ready for theirs.
    if (entries_read && task.begin < task.end) entries_read(*task.node, fd.get(), task.begin, task.end);
    std::lock_guard lock(mutex);
    objects_ += objects;
    file_bytes_ += file_bytes;
    return {};
  };
  return parallel_walk<DirTask>(
      {root_.get(), conventions.holds_xwhiteouts(root_raw), nullptr, 0, 0}, io_threads(), visit);
}

Status UpperTree::read_entries(int fd, const DirTask& task, const OverlayConventions& conventions,
                               std::vector<DirTask>* subdirs, uint64_t* objects,
                               uint64_t* file_bytes) {
  UpperNode& node = *task.node;
  for (size_t index = task.begin; index < task.end; ++index) {
    const std::string& name = (*task.names)[index];
    auto child = std::make_unique<UpperNode>();
    child->name = name;
    child->path = child_path(node.path, name);
    std::string child_display = dir_ + absolute_path(child->path);
    struct stat st;
    if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed since it was listed (a live upper)
      return errno_error("reading " + child_display, errno);
    }
    child->entry = TRY(read_entry(fd, name, st, child_display));
    Xattrs raw = std::move(child->entry.xattrs);
    child->entry.xattrs = conventions.visible(raw);
    child->device = st.st_dev;
    child->inode = st.st_ino;
    child->links = st.st_nlink;
    ++*objects;
    if (is_whiteout_device(st) || (task.xwhiteouts && conventions.is_xwhiteout(st, raw))) {
      child->kind = UpperNode::Kind::kWhiteout;
      child->origin = TRY(origin_of(node, name, std::nullopt, child_display));
    } else if (S_ISDIR(st.st_mode)) {
      child->kind = UpperNode::Kind::kDirectory;
      child->opaque = conventions.is_opaque(raw);
      child->redirect = child->opaque ? std::nullopt : conventions.get(raw, "redirect");
      child->origin = TRY(origin_of(node, name, child->redirect, child_display));
      subdirs->push_back({child.get(), conventions.holds_xwhiteouts(raw), nullptr, 0, 0});
    } else {
      child->kind = UpperNode::Kind::kOther;
      if (S_ISREG(st.st_mode)) {
        child->metacopy = conventions.is_metacopy(raw);
        child->redirect = conventions.get(raw, "redirect");
        if (!child->metacopy) *file_bytes += static_cast<uint64_t>(st.st_size);
      }
      child->origin = TRY(origin_of(node, name, child->redirect, child_display));
    }
    // Without a redirect (and always for a whiteout) the origin is the place.
    child->place = child->kind == UpperNode::Kind::kWhiteout || !child->redirect
                       ? child->origin
                       : TRY(origin_of(node, name, std::nullopt, child_display));
    node.children[index] = std::move(child);
  }
  return {};
}

Result<UniqueFd> UpperTree::open_file(const UpperNode& node) const {
  return open_beneath(fd_.get(), node.path, O_RDONLY | O_NOFOLLOW | O_NOATIME,
                      dir_ + absolute_path(node.path));
}

UpperTree::Resolved UpperTree::resolve(const std::string& path) const {
  const UpperNode* node = root_.get();
  std::optional<std::string> lower = root_->origin;
  auto parts = split(path, '/');
  parts.erase(std::remove(parts.begin(), parts.end(), std::string()), parts.end());
  if (parts.empty()) return {node, std::nullopt};
  for (size_t i = 0; i < parts.size(); ++i) {
    bool last = i + 1 == parts.size();
    const UpperNode* child = node ? node->child(parts[i]) : nullptr;
    if (child) {
      if (child->kind == UpperNode::Kind::kWhiteout) return {};
      if (last) return {child, std::nullopt};
      if (!child->is_directory()) return {};
      node = child;
      lower = child->child_origin_base();
      continue;
    }
    node = nullptr;
    if (!lower) return {};
    lower = child_path(*lower, parts[i]);
  }
  return {nullptr, lower};
}

void UpperTree::drop_vanished(UpperNode& node) {
  std::erase(node.children, nullptr);
  for (auto& child : node.children)
    if (child->is_directory()) drop_vanished(*child);
}

bool UpperTree::moved(const UpperNode& node) const {
  if (!node.redirect || !node.origin || node.origin == node.place) return false;
  if (node.is_directory()) return true;
  Resolved shown = resolve(*node.origin);
  if (shown.upper) return !(shown.upper != &node && shown.upper->origin == node.origin);
  return shown.lower != node.origin;
}

std::vector<std::string> UpperTree::lower_paths() const {
  std::set<std::string> paths{""};
  for_each_below(*root_, [&paths](const UpperNode& node) {
    if (node.origin) paths.insert(*node.origin);
    if (node.place) paths.insert(*node.place);
  });
  return {paths.begin(), paths.end()};
}

std::vector<std::string> UpperTree::redirected_lower_paths() const {
  std::set<std::string> paths{""};
  for_each_below(*root_, [&paths](const UpperNode& node) {
    if (node.origin && node.origin != node.place) paths.insert(*node.origin);
  });
  return {paths.begin(), paths.end()};
}

std::vector<std::pair<std::string, std::string>> UpperTree::redirects() const {
  std::vector<std::pair<std::string, std::string>> found;
  for_each_below(*root_, [&found](const UpperNode& node) {
    if (node.is_directory() && node.redirect && node.origin)
      found.emplace_back(node.path, *node.origin);
  });
  return found;
}

}  // namespace goldroot

#include "overlay/lower.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "image/fs_entry.h"
#include "base/parallel.h"
#include "overlay/upper_tree.h"
#include "sys/open_beneath.h"

namespace goldroot {

namespace {

// Reads up to `capacity` bytes, retrying short reads; 0 only at the end.
Result<size_t> read_full(int fd, char* buffer, size_t capacity, const std::string& display) {
  size_t filled = 0;
  while (filled < capacity) {
    ssize_t n = ::read(fd, buffer + filled, capacity - filled);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("reading " + display, errno);
    }
    if (n == 0) break;
    filled += static_cast<size_t>(n);
  }
  return filled;
}

constexpr size_t kBufferSize = 1 << 18;

// The calling thread's read buffer `which` (0 or 1) of kBufferSize bytes,
// left uninitialized: zero-filling it would fault in all 64 of its pages in
// every thread that compares a file, though most files fill one or two.
char* read_buffer(int which) {
  static thread_local std::unique_ptr<char[]> buffers[2];
  if (!buffers[which]) buffers[which] = std::make_unique_for_overwrite<char[]>(kBufferSize);
  return buffers[which].get();
}

}  // namespace

Result<Digest> hash_fd(int fd, const std::string& display) {
  Sha256 hasher;
  char* buffer = read_buffer(0);
  for (;;) {
    size_t n = TRY(read_full(fd, buffer, kBufferSize, display));
    if (n == 0) break;
    hasher.update(buffer, n);
  }
  return hasher.finish();
}

Result<std::unique_ptr<DirectoryLower>> DirectoryLower::open(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT)
      return make_error(ErrorCode::kNotFound, "the lower dir " + dir + " does not exist");
    return errno_error("opening the lower dir " + dir, errno);
  }
  return std::unique_ptr<DirectoryLower>(new DirectoryLower(dir, std::move(fd)));
}

namespace {

// "etc/apt/sources.list" -> {"etc/apt", "sources.list"}; "" (the root) ->
// {"", "."}.
std::pair<std::string, std::string> split_parent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path.empty() ? "." : path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

}  // namespace

Lower::Prefetched DirectoryLower::prefetch(const std::string& dir,
                                           const std::vector<std::string>& names) {
  auto opened = open_parent(dir, dir_ + absolute_path(dir));
  if (!opened.ok()) return {};  // lookup will meet the error again
  Prefetched found;
  found.reserve(names.size());
  for (const std::string& name : names) {
    if (!*opened)
      found.emplace_back(std::optional<Entry>());
    else
      found.push_back(read_in((*opened)->get(), name, child_path(dir, name)));
  }
  std::lock_guard lock(prepared_mutex_);
  for (size_t i = 0; i < names.size(); ++i)
    if (found[i].ok()) prepared_.emplace(child_path(dir, names[i]), *found[i]);
  return found;
}

Status DirectoryLower::prepare(const std::vector<std::string>& paths) {
  // One job per parent directory: it is opened once for all of its
  // children the upper names, not once per child. Paths prefetch read
  // while the upper was walked are not read again.
  std::map<std::string, std::vector<size_t>> by_parent;
  for (size_t i = 0; i < paths.size(); ++i)
    if (!prepared_.count(paths[i])) by_parent[split_parent(paths[i]).first].push_back(i);
  std::vector<const std::pair<const std::string, std::vector<size_t>>*> groups;
  for (const auto& group : by_parent) groups.push_back(&group);
  std::vector<Result<std::optional<Entry>>> found(paths.size(), std::optional<Entry>());
  TRY(parallel_for(groups.size(), io_threads(), [&](size_t g) -> Status {
    const auto& [parent, members] = *groups[g];
    auto dir = open_parent(parent, dir_ + absolute_path(paths[members.front()]));
    for (size_t i : members) {
      if (!dir.ok())
        found[i] = dir.error();
      else if (!*dir)
        found[i] = std::optional<Entry>();
      else
        found[i] = read_in((*dir)->get(), split_parent(paths[i]).second, paths[i]);
    }
    return {};
  }));
  for (size_t i = 0; i < paths.size(); ++i)
    if (found[i].ok()) prepared_.emplace(paths[i], std::move(found[i]).value());
  return {};
}

Result<std::optional<Entry>> DirectoryLower::lookup(const std::string& path) {
  auto known = prepared_.find(path);
  if (known != prepared_.end()) return known->second;
  return read(path);
}

Result<std::optional<UniqueFd>> DirectoryLower::open_parent(const std::string& parent,
                                                            const std::string& display) const {
  // A real directory fd (not O_PATH): the xattr calls of read_entry need one.
  auto dir = open_beneath(fd_.get(), parent, O_RDONLY | O_DIRECTORY, display);
  if (!dir.ok()) {
    if (dir.error().code == ErrorCode::kNotFound) return std::optional<UniqueFd>();
    return std::move(dir).error();
  }
  return std::optional<UniqueFd>(std::move(dir).value());
}

Result<std::optional<Entry>> DirectoryLower::read(const std::string& path) const {
  auto [parent, name] = split_parent(path);
  auto dir = TRY(open_parent(parent, dir_ + absolute_path(path)));
  if (!dir) return std::optional<Entry>();
  return read_in(dir->get(), name, path);
}

Result<std::optional<Entry>> DirectoryLower::read_in(int dir_fd, const std::string& name,
                                                     const std::string& path) const {
  std::string display = dir_ + absolute_path(path);
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<Entry>();
    return errno_error("reading " + display, errno);
  }
  Entry entry = TRY(read_entry(dir_fd, name, st, display));
  return std::optional<Entry>(std::move(entry));
}

Result<UniqueFd> DirectoryLower::open_content(const std::string& path, const Entry&) {
  return open_beneath(fd_.get(), path, O_RDONLY | O_NOFOLLOW | O_NOATIME,
                      dir_ + absolute_path(path));
}

Result<bool> DirectoryLower::same_content(const std::string& path, const Entry& entry, int fd) {
  UniqueFd lower = TRY(open_content(path, entry));
  std::string display = dir_ + absolute_path(path);
  char* a = read_buffer(0);
  char* b = read_buffer(1);
  for (;;) {
    size_t n = TRY(read_full(fd, a, kBufferSize, "the upper of " + display));
    size_t m = TRY(read_full(lower.get(), b, kBufferSize, display));
    if (n != m || std::memcmp(a, b, n) != 0) return false;
    if (n == 0) return true;
  }
}

Result<std::unique_ptr<StoreLower>> StoreLower::open(const Store& store, const Digest& commit) {
  TreeBuilder tree = TRY(TreeBuilder::from_commit(store, commit));
  return std::unique_ptr<StoreLower>(new StoreLower(store, commit, std::move(tree)));
}

Lower::Prefetched StoreLower::prefetch(const std::string& dir,
                                       const std::vector<std::string>& names) {
  auto parts = split_relative_path(dir, "path");
  if (!parts.ok()) return {};
  std::unique_lock<std::mutex> lock(expand_mutex_, std::defer_lock);
  auto node = expand_path(*parts, lock);
  if (!node.ok()) return {};  // lookup will meet the error again
  Prefetched found;
  found.reserve(names.size());
  for (const std::string& name : names) {
    std::optional<Entry> entry;
    if (*node && (*node)->entry.type == FileType::kDirectory) {
      auto child = (*node)->children.find(name);
      if (child != (*node)->children.end()) entry = child->second->entry;
    }
    found.emplace_back(std::move(entry));
  }
  return found;
}

Result<TreeBuilder::Node*> StoreLower::expand_path(const std::vector<std::string>& parts,
                                                   std::unique_lock<std::mutex>& lock) {
  lock.lock();
  TreeBuilder::Node* node = &tree_.root();
  for (size_t depth = 0;; ++depth) {
    if (node->entry.type != FileType::kDirectory) return depth == parts.size() ? node : nullptr;
    if (!node->expanded) {
      Digest digest = node->entry.digest;
      lock.unlock();
      auto tree = store_.objects().read_tree(digest);
      lock.lock();
      if (!tree.ok()) return std::move(tree).error();
      // Another thread may have expanded it meanwhile (nodes never move).
      if (!node->expanded) TreeBuilder::expand_with(*node, std::move(tree).value());
    }
    if (depth == parts.size()) return node;
    auto child = node->children.find(parts[depth]);
    if (child == node->children.end()) return static_cast<TreeBuilder::Node*>(nullptr);
    node = child->second.get();
  }
}

Status StoreLower::prepare(const std::vector<std::string>& paths) {
  // A trie of the directories the paths pass through; the stored trees
  // along it are read several at a time, each branch as soon as its parent
  // is loaded.
  struct Trie {
    std::map<std::string, Trie> children;
  };
  Trie wanted;
  for (const std::string& path : paths) {
    auto parts = split_relative_path(path, "path");
    if (!parts.ok()) continue;
    Trie* at = &wanted;
    for (const std::string& part : *parts) at = &at->children[part];
  }
  struct Item {
    TreeBuilder::Node* node;
    const Trie* trie;
  };
  std::mutex mutex;  // guards the builder's nodes while they are filled in
  // Items for the unexpanded dirs below `node` that the trie wants.
  std::function<void(TreeBuilder::Node*, const Trie*, std::vector<Item>&)> descend =
      [&](TreeBuilder::Node* node, const Trie* trie, std::vector<Item>& more) {
        if (node->entry.type != FileType::kDirectory || trie->children.empty()) return;
        if (!node->expanded) {
          more.push_back({node, trie});
          return;
        }
        for (const auto& [name, below] : trie->children) {
          auto child = node->children.find(name);
          if (child != node->children.end()) descend(child->second.get(), &below, more);
        }
      };
  std::vector<Item> first;
  descend(&tree_.root(), &wanted, first);
  if (first.empty()) return {};
  std::function<Status(Item&, std::vector<Item>&)> visit = [&](Item& item,
                                                               std::vector<Item>& more) -> Status {
    if (item.node == nullptr) {  // the seed: the first level at once
      more = std::move(first);
      return {};
    }
    Tree tree = TRY(store_.objects().read_tree(item.node->entry.digest));
    std::lock_guard lock(mutex);
    TreeBuilder::expand_with(*item.node, std::move(tree));
    descend(item.node, item.trie, more);
    return {};
  };
  return parallel_walk<Item>(Item{nullptr, nullptr}, io_threads(), visit);
}

Result<std::optional<Entry>> StoreLower::lookup(const std::string& path) {
  TreeBuilder::Node* node = TRY(tree_.find(&store_, path));
  if (!node) return std::optional<Entry>();
  return std::optional<Entry>(node->entry);
}

Result<UniqueFd> StoreLower::open_content(const std::string&, const Entry& entry) {
  return store_.objects().open_file(entry.digest);
}

Result<bool> StoreLower::same_content(const std::string& path, const Entry& entry, int fd) {
  Digest digest = TRY(hash_fd(fd, "the upper of " + absolute_path(path)));
  return digest == entry.digest;
}

Result<std::optional<Entry>> StackedLower::lookup(const std::string& path) {
  auto top = TRY(top_->lookup(path));
  bool from_top = top.has_value();
  {
    std::lock_guard lock(mutex_);
    from_top_[path] = from_top && top->type == FileType::kRegular;
  }
  if (from_top) {
    if (top->type == FileType::kCharDevice && top->rdev == 0) return std::optional<Entry>();
    return top;
  }
  return base_->lookup(path);
}

Lower::Prefetched StackedLower::prefetch(const std::string& dir,
                                         const std::vector<std::string>& names) {
  // Which of the two a path comes from is settled by lookup (see
  // source_of): both load ahead, neither answers yet.
  top_->prefetch(dir, names);
  base_->prefetch(dir, names);
  return {};
}

Status StackedLower::prepare(const std::vector<std::string>& paths) {
  TRY(top_->prepare(paths));
  return base_->prepare(paths);
}

Lower* StackedLower::source_of(const std::string& path) {
  std::lock_guard lock(mutex_);
  auto found = from_top_.find(path);
  return found != from_top_.end() && found->second ? top_.get() : base_.get();
}

Result<UniqueFd> StackedLower::open_content(const std::string& path, const Entry& entry) {
  return source_of(path)->open_content(path, entry);
}

Result<bool> StackedLower::same_content(const std::string& path, const Entry& entry, int fd) {
  return source_of(path)->same_content(path, entry, fd);
}

}  // namespace goldroot

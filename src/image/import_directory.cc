// import_directory: walks a source tree with directory fds (never following
// a symlink), hashes and stores each regular file unless the stat cache vouches
// for it, and writes trees bottom-up.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <cerrno>
#include <ctime>
#include <map>

#include "base/progress.h"
#include "image/fs_entry.h"
#include "image/import.h"
#include "image/stat_cache.h"
#include "sys/unique_fd.h"

namespace goldroot {

namespace {

class DirectoryImporter {
 public:
  DirectoryImporter(Store& store, Transaction& transaction, StatCache& cache)
      : store_(store), transaction_(transaction), cache_(cache), progress_("importing") {}

  // Fills in `entry.digest` with the tree of directory `fd` (at `path`).
  Status import_dir(int fd, const std::string& path, Entry& entry);

  ImportStats stats;
  std::vector<std::vector<std::string>> hardlink_groups() const;

 private:
  Status import_child(int dir_fd, const std::string& name, const std::string& path,
                      Entry& entry, const struct stat& st);

  Store& store_;
  Transaction& transaction_;
  StatCache& cache_;
  Progress progress_;
  struct Inode {
    size_t group;
    Digest digest;
    uint64_t size;
  };
  std::map<std::pair<dev_t, ino_t>, Inode> inodes_;
  std::vector<std::vector<std::string>> groups_;
};

std::string display_path(const std::string& path) { return path.empty() ? "/" : "/" + path; }

Status DirectoryImporter::import_dir(int fd, const std::string& path, Entry& entry) {
  std::string display = display_path(path);
  Tree tree;
  for (const std::string& name : TRY(read_names(fd, display))) {
    std::string child_path = path.empty() ? name : path + "/" + name;
    struct stat st;
    if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error("reading " + display_path(child_path), errno);
    Entry child = TRY(read_entry(fd, name, st, display_path(child_path)));
    TRY(import_child(fd, name, child_path, child, st));
    tree.entries.push_back(std::move(child));
    ++stats.entries;
    progress_.update(stats.entries, stats.size);
  }
  entry.digest = TRY(transaction_.add_bytes(ObjectType::kTree, tree.serialize()));
  return {};
}

Status DirectoryImporter::import_child(int dir_fd, const std::string& name,
                                       const std::string& path, Entry& entry,
                                       const struct stat& st) {
  std::string display = display_path(path);
  if (entry.type == FileType::kDirectory) {
    UniqueFd child(::openat(dir_fd, name.c_str(),
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!child.valid()) return errno_error("opening " + display, errno);
    return import_dir(child.get(), path, entry);
  }
  if (st.st_nlink > 1) {
    auto [it, inserted] = inodes_.try_emplace({st.st_dev, st.st_ino}, Inode{groups_.size(), {}, 0});
    if (!inserted) {
      groups_[it->second.group].push_back(path);
      entry.digest = it->second.digest;
      entry.size = it->second.size;
      if (entry.type == FileType::kRegular) stats.size += entry.size;
      return {};
    }
    groups_.push_back({path});
  }
  if (entry.type == FileType::kRegular) {
    std::optional<Digest> cached = cache_.lookup(path, st);
    if (cached && store_.objects().has(ObjectType::kFile, *cached)) {
      entry.digest = *cached;
      ++stats.files_cached;
    } else {
      UniqueFd file(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME));
      if (!file.valid() && errno == EPERM)
        file.reset(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!file.valid()) return errno_error("opening " + display, errno);
      uint64_t length = 0;
      entry.digest = TRY(transaction_.add_file(file.get(), display, &length));
      entry.size = length;
      ++stats.files_hashed;
    }
    cache_.record(path, st, entry.digest);
    stats.size += entry.size;
  }
  if (st.st_nlink > 1) {
    Inode& inode = inodes_[{st.st_dev, st.st_ino}];
    inode.digest = entry.digest;
    inode.size = entry.size;
  }
  return {};
}

std::vector<std::vector<std::string>> DirectoryImporter::hardlink_groups() const {
  std::vector<std::vector<std::string>> groups;
  for (const auto& group : groups_) {
    if (group.size() < 2) continue;  // its other links are outside the tree
    groups.push_back(group);
    std::sort(groups.back().begin(), groups.back().end());
  }
  std::sort(groups.begin(), groups.end());
  return groups;
}

}  // namespace

Result<ImportResult> import_directory(Store& store, const std::string& source,
                                      const ImportOptions& options) {
  struct timespec started;
  ::clock_gettime(CLOCK_REALTIME, &started);
  char resolved[PATH_MAX];
  if (!::realpath(source.c_str(), resolved)) return errno_error("reading " + source, errno);
  UniqueFd root(::open(resolved, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return errno_error("opening " + source, errno);
  struct stat st;
  if (::fstat(root.get(), &st) != 0) return errno_error("reading " + source, errno);

  StatCache cache(store.env(), store.dir() + "/cache", resolved);
  cache.load();
  Transaction transaction(&store.objects());
  TRY(transaction.begin());

  Entry root_entry = TRY(read_entry(root.get(), ".", st, source));

  DirectoryImporter importer(store, transaction, cache);
  TRY(importer.import_dir(root.get(), "", root_entry));
  importer.stats.bytes_written = transaction.bytes_written();
  Digest commit = TRY(write_commit(store, transaction, root_entry, importer.stats,
                                   importer.hardlink_groups(), options));
  importer.stats.objects_written = transaction.objects_written();
  // The cache only saves work; failing to save it must not fail the import.
  (void)cache.save(static_cast<int64_t>(started.tv_sec) * 1000000000 + started.tv_nsec);
  return ImportResult{commit, importer.stats};
}

Result<Digest> write_commit(Store& store, Transaction& transaction, const Entry& root,
                            const ImportStats& stats,
                            std::vector<std::vector<std::string>> hardlinks,
                            const ImportOptions& options, std::vector<Digest> extra_parents) {
  TRY(validate_ref_name(options.name, "image"));
  Tree root_tree;
  root_tree.entries.push_back(root);
  root_tree.entries[0].name = ".";
  Commit commit;
  commit.root = TRY(transaction.add_bytes(ObjectType::kTree, root_tree.serialize()));
  std::optional<Digest> previous = TRY(store.refs().read(RefKind::kImage, options.name));
  if (previous) commit.parents.push_back(*previous);
  for (const Digest& parent : extra_parents)
    if (!previous || parent != *previous) commit.parents.push_back(parent);
  commit.created = store.env()->now_seconds();
  commit.name = options.name;
  commit.message = options.message;
  commit.size = stats.size;
  commit.entries = stats.entries;
  commit.hardlinks = std::move(hardlinks);
  Digest id = TRY(transaction.add_bytes(ObjectType::kCommit, commit.serialize()));
  TRY(transaction.commit());
  TRY(store.refs().write(RefKind::kImage, options.name, id));
  return id;
}

}  // namespace goldroot

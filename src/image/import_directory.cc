// import_directory: imports a source tree in three phases.
//  1. Walk: one thread reads every entry's metadata with directory fds,
//     never following a symlink.
//  2. Content: regular files the stat cache cannot vouch for are read,
//     hashed and staged by a pool of I/O threads — a cold disk answers many
//     reads in flight far faster than one after another.
//  3. Trees: written bottom-up from memory.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <chrono>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <cstdlib>
#include <thread>

#include "base/progress.h"
#include "image/fs_entry.h"
#include "base/parallel.h"
#include "sys/directory.h"
#include "sys/open_beneath.h"
#include "image/import.h"
#include "image/stat_cache.h"
#include "sys/unique_fd.h"

namespace goldroot {

namespace {

std::string display_path(const std::string& path) { return path.empty() ? "/" : "/" + path; }

struct Directory {
  std::string path;
  std::vector<Entry> entries;
  std::vector<int> child_directory;  // per entry: index into directories_, or -1
};

struct FileJob {
  size_t directory, entry;
  std::string path;
  struct stat st;
};

class DirectoryImporter {
 public:
  DirectoryImporter(Store& store, Transaction& transaction, StatCache& cache, int root_fd)
      : store_(store), transaction_(transaction), cache_(cache), root_fd_(root_fd) {}

  // Both phases run on `threads` threads.
  Status walk(unsigned threads);
  Status read_contents(unsigned threads);
  Result<Digest> write_trees();
  std::vector<std::vector<std::string>> hardlink_groups() const;

  ImportStats stats;

 private:
  Result<bool> run_job(FileJob& job);  // true if it read and hashed the file
  // Reads one directory's entries; hands each subdirectory to `enqueue`.
  Status walk_one(size_t index, const std::function<void(size_t)>& enqueue);

  Store& store_;
  Transaction& transaction_;
  StatCache& cache_;
  int root_fd_;
  std::mutex mutex_;  // guards the containers below during the walk
  std::deque<Directory> directories_;  // pre-order: a child after its parent
  std::vector<FileJob> jobs_;
  struct Link {
    size_t directory, entry;  // the first path of the inode
    std::vector<std::pair<size_t, size_t>> others;
    std::vector<std::string> paths;
  };
  std::map<std::pair<dev_t, ino_t>, Link> links_;
};

Status DirectoryImporter::walk_one(size_t index, const std::function<void(size_t)>& enqueue) {
  // Indexing reads the deque's map, which another thread's push_back may be
  // reallocating: look the element up under the lock. The reference stays
  // valid afterwards (push_back never moves deque elements), and only this
  // thread touches this directory's entries.
  Directory* found;
  {
    std::lock_guard lock(mutex_);
    found = &directories_[index];
  }
  Directory& directory = *found;
  const std::string path = directory.path;
  std::string display = display_path(path);
  UniqueFd fd = TRY(open_beneath(root_fd_, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, display));
  for (const std::string& name : TRY(read_directory(fd.get(), display))) {
    std::string child_path = path.empty() ? name : path + "/" + name;
    struct stat st;
    if (::fstatat(fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error("reading " + display_path(child_path), errno);
    Entry entry = TRY(read_entry(fd.get(), name, st, display_path(child_path)));
    size_t position = directory.entries.size();
    directory.entries.push_back(std::move(entry));
    directory.child_directory.push_back(-1);
    if (S_ISDIR(st.st_mode)) {
      size_t child;
      {
        std::lock_guard lock(mutex_);
        child = directories_.size();
        directories_.push_back({child_path, {}, {}});
      }
      directory.child_directory[position] = static_cast<int>(child);
      enqueue(child);
      continue;
    }
    std::lock_guard lock(mutex_);
    if (st.st_nlink > 1) {
      auto [it, inserted] = links_.try_emplace({st.st_dev, st.st_ino}, Link{index, position, {}, {}});
      it->second.paths.push_back(child_path);
      if (!inserted) {
        it->second.others.emplace_back(index, position);
        continue;
      }
    }
    if (S_ISREG(st.st_mode)) jobs_.push_back({index, position, child_path, st});
  }
  return {};
}

Status DirectoryImporter::walk(unsigned threads) {
  directories_.push_back({"", {}, {}});
  std::deque<size_t> queue{0};
  size_t active = 0;
  std::mutex queue_mutex;
  std::condition_variable changed;
  std::optional<Error> first_error;
  auto enqueue = [&](size_t index) {
    std::lock_guard lock(queue_mutex);
    queue.push_back(index);
    changed.notify_one();
  };
  auto worker = [&] {
    std::unique_lock lock(queue_mutex);
    for (;;) {
      changed.wait(lock, [&] { return !queue.empty() || active == 0 || first_error; });
      if (first_error || queue.empty()) return;  // failed, or all done
      size_t index = queue.front();
      queue.pop_front();
      ++active;
      lock.unlock();
      Status status = walk_one(index, enqueue);
      lock.lock();
      --active;
      if (!status.ok() && !first_error) first_error = std::move(status).error();
      changed.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
  for (std::thread& thread : pool) thread.join();
  if (first_error) return std::move(*first_error);
  for (const Directory& directory : directories_) stats.entries += directory.entries.size();
  return {};
}

Result<bool> DirectoryImporter::run_job(FileJob& job) {
  Entry& entry = directories_[job.directory].entries[job.entry];
  std::optional<Digest> cached = cache_.lookup(job.path, job.st);
  if (cached && (cache_.objects_present() || store_.objects().has(ObjectType::kFile, *cached))) {
    entry.digest = *cached;
    return false;
  }
  std::string display = display_path(job.path);
  UniqueFd file = TRY(open_beneath(root_fd_, job.path, O_RDONLY | O_NOFOLLOW, display));
  struct stat now;
  if (::fstat(file.get(), &now) != 0) return errno_error("reading " + display, errno);
  if (now.st_ino != job.st.st_ino || now.st_dev != job.st.st_dev)
    return make_error(ErrorCode::kBusy, display + " was replaced while it was being imported");
  uint64_t length = 0;
  entry.digest = TRY(transaction_.add_file(file.get(), display, &length));
  entry.size = length;
  return true;
}

Status DirectoryImporter::read_contents(unsigned threads) {
  std::atomic<size_t> hashed{0}, bytes{0};
  Progress progress("importing");
  TRY(parallel_for(
      jobs_.size(), threads,
      [&](size_t i) -> Status {
        if (TRY(run_job(jobs_[i]))) ++hashed;
        bytes += directories_[jobs_[i].directory].entries[jobs_[i].entry].size;
        return {};
      },
      [&](size_t started) { progress.update(started, bytes); }));
  stats.files_hashed = hashed;
  stats.files_cached = jobs_.size() - hashed;
  for (const FileJob& job : jobs_) {
    const Entry& entry = directories_[job.directory].entries[job.entry];
    cache_.record(job.path, job.st, entry.digest);
  }
  // Every other path of a hardlinked inode is the same file.
  for (auto& [inode, link] : links_) {
    const Entry& first = directories_[link.directory].entries[link.entry];
    for (auto [directory, position] : link.others) {
      Entry& other = directories_[directory].entries[position];
      other.digest = first.digest;
      other.size = first.size;
    }
  }
  for (const Directory& directory : directories_)
    for (const Entry& entry : directory.entries)
      if (entry.type == FileType::kRegular) stats.size += entry.size;
  return {};
}

Result<Digest> DirectoryImporter::write_trees() {
  // Directories were numbered in pre-order, so every child comes after its
  // parent: writing from the last one up means children are always ready.
  std::vector<Digest> digests(directories_.size());
  for (size_t i = directories_.size(); i-- > 0;) {
    Directory& directory = directories_[i];
    Tree tree;
    for (size_t e = 0; e < directory.entries.size(); ++e) {
      if (directory.child_directory[e] >= 0)
        directory.entries[e].digest = digests[static_cast<size_t>(directory.child_directory[e])];
    }
    tree.entries = std::move(directory.entries);
    digests[i] = TRY(transaction_.add_bytes(ObjectType::kTree, tree.serialize()));
  }
  return digests[0];
}

std::vector<std::vector<std::string>> DirectoryImporter::hardlink_groups() const {
  std::vector<std::vector<std::string>> groups;
  for (const auto& [inode, link] : links_) {
    if (link.paths.size() < 2) continue;  // its other links are outside the tree
    groups.push_back(link.paths);
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
  Entry root_entry = TRY(read_entry(root.get(), ".", st, source));

  StatCache cache(store.env(), store.dir() + "/cache", resolved);
  uint64_t generation = TRY(store.gc_generation());
  cache.load(generation);
  Transaction transaction(&store.objects());
  TRY(transaction.begin());

  DirectoryImporter importer(store, transaction, cache, root.get());
  auto clock = std::chrono::steady_clock::now();
  auto lap = [&clock] {
    auto now = std::chrono::steady_clock::now();
    double seconds = std::chrono::duration<double>(now - clock).count();
    clock = now;
    return seconds;
  };
  TRY(importer.walk(io_threads()));
  importer.stats.walk_seconds = lap();
  TRY(importer.read_contents(io_threads()));
  root_entry.digest = TRY(importer.write_trees());
  importer.stats.content_seconds = lap();
  importer.stats.bytes_written = transaction.bytes_written();
  Digest commit = TRY(write_commit(store, transaction, root_entry, importer.stats,
                                   importer.hardlink_groups(), options));
  importer.stats.commit_seconds = lap();
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

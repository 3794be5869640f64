// checkout: materializes a commit in four phases.
//  1. Skeleton: one thread reads the trees, makes every directory, symlink,
//     device, fifo and socket.
//  2. Files: a pool of threads creates regular files and copies their
//     objects (reflink, else copy_file_range) — many reads in flight.
//  3. Hardlinks: every further path of an inode is linked to its first.
//  4. Directory metadata, deepest first, so that creating entries inside a
//     directory never disturbs an mtime already set.
#include "image/checkout.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "base/progress.h"
#include "image/fs_entry.h"
#include "base/parallel.h"
#include "sys/directory.h"
#include "sys/unique_fd.h"

namespace goldroot {

Status copy_object(const ObjectStore& objects, const Digest& digest, uint64_t size, int out_fd,
                   const std::string& display) {
  UniqueFd in = TRY(objects.open_file(digest));
  if (size == 0) return {};
  if (::ioctl(out_fd, FICLONE, in.get()) == 0) return {};
  uint64_t copied = 0;
  while (copied < size) {
    ssize_t n = ::copy_file_range(in.get(), nullptr, out_fd, nullptr, size - copied, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) {
        // Older kernels and some filesystems: plain read and write.
        char buffer[1 << 16];
        ssize_t r = ::read(in.get(), buffer, sizeof buffer);
        if (r < 0) return errno_error("reading object " + digest.hex(), errno);
        if (r == 0) break;
        if (::write(out_fd, buffer, static_cast<size_t>(r)) != r)
          return errno_error("writing " + display, errno);
        copied += static_cast<uint64_t>(r);
        continue;
      }
      return errno_error("writing " + display, errno);
    }
    if (n == 0) break;
    copied += static_cast<uint64_t>(n);
  }
  if (copied != size)
    return make_error(ErrorCode::kCorruption, "file object " + digest.hex() +
                                                  " is shorter than its tree entry says");
  return {};
}

namespace {

struct Placed {
  std::string path;  // relative to the target; "." for the root
  Entry entry;
};

class Checkout {
 public:
  Checkout(const Store& store, const Commit& commit, int root_fd)
      : store_(store), root_fd_(root_fd) {
    for (size_t g = 0; g < commit.hardlinks.size(); ++g)
      for (const std::string& path : commit.hardlinks[g]) group_of_[path] = g;
    first_of_group_.resize(commit.hardlinks.size());
  }

  Status skeleton(const std::string& path, const Digest& tree_digest);
  Status files(unsigned threads);
  Status links();
  Status directory_metadata(const Entry& root);

  CheckoutStats stats;

 private:
  Status create_file(const Placed& file);

  const Store& store_;
  int root_fd_;
  std::map<std::string, size_t> group_of_;
  std::vector<std::string> first_of_group_;
  std::vector<Placed> directories_;  // pre-order
  std::vector<Placed> files_;
  std::vector<std::pair<std::string, std::string>> links_;  // path -> first path
};

Status Checkout::skeleton(const std::string& path, const Digest& tree_digest) {
  Tree tree = TRY(store_.objects().read_tree(tree_digest));
  for (Entry& entry : tree.entries) {
    std::string child = path.empty() ? entry.name : path + "/" + entry.name;
    std::string display = "/" + child;
    ++stats.entries;
    auto group = group_of_.find(child);
    if (group != group_of_.end()) {
      std::string& first = first_of_group_[group->second];
      if (!first.empty()) {
        links_.emplace_back(child, first);
        continue;
      }
      first = child;
    }
    switch (entry.type) {
      case FileType::kDirectory: {
        if (::mkdirat(root_fd_, child.c_str(), 0700) != 0)
          return errno_error("creating " + display, errno);
        Digest subtree = entry.digest;
        directories_.push_back({child, std::move(entry)});
        TRY(skeleton(child, subtree));
        break;
      }
      case FileType::kRegular:
        stats.bytes += entry.size;
        files_.push_back({child, std::move(entry)});
        break;
      default:
        TRY(create_special(root_fd_, child, entry, display));
        TRY(apply_metadata(root_fd_, child, entry, display));
    }
  }
  return {};
}

Status Checkout::create_file(const Placed& file) {
  std::string display = "/" + file.path;
  UniqueFd out(::openat(root_fd_, file.path.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return errno_error("creating " + display, errno);
  TRY(copy_object(store_.objects(), file.entry.digest, file.entry.size, out.get(), display));
  return apply_metadata(root_fd_, file.path, file.entry, display);
}

Status Checkout::files(unsigned threads) {
  std::atomic<size_t> bytes{0};
  Progress progress("checking out");
  return parallel_for(
      files_.size(), threads,
      [&](size_t i) -> Status {
        TRY(create_file(files_[i]));
        bytes += files_[i].entry.size;
        return {};
      },
      [&](size_t started) { progress.update(started, bytes); });
}

Status Checkout::links() {
  for (const auto& [path, first] : links_) {
    if (::linkat(root_fd_, first.c_str(), root_fd_, path.c_str(), 0) != 0)
      return errno_error("linking /" + path, errno);
  }
  return {};
}

Status Checkout::directory_metadata(const Entry& root) {
  for (auto it = directories_.rbegin(); it != directories_.rend(); ++it)
    TRY(apply_metadata(root_fd_, it->path, it->entry, "/" + it->path));
  return apply_metadata(root_fd_, ".", root, "/");
}

}  // namespace

Result<CheckoutStats> checkout(const Store& store, const Digest& commit_id,
                               const std::string& target) {
  Commit commit = TRY(store.objects().read_commit(commit_id));
  Tree root_tree = TRY(store.objects().read_tree(commit.root));
  if (root_tree.entries.size() != 1)
    return make_error(ErrorCode::kCorruption, "commit " + commit_id.hex() + " has a bad root");
  const Entry& root = root_tree.entries[0];

  if (::mkdir(target.c_str(), 0700) != 0 && errno != EEXIST)
    return errno_error("creating " + target, errno);
  UniqueFd fd(::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("opening " + target, errno);
  if (!TRY(read_directory(fd.get(), target)).empty())
    return make_error(ErrorCode::kAlreadyExists,
                      target + " is not empty; check out into a new or empty directory");
  Checkout checkout(store, commit, fd.get());
  TRY(checkout.skeleton("", root.digest));
  TRY(checkout.files(io_threads()));
  TRY(checkout.links());
  TRY(checkout.directory_metadata(root));
  return checkout.stats;
}

}  // namespace goldroot

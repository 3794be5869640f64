#include "image/checkout.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "base/progress.h"
#include "image/fs_entry.h"
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
      if (errno == EXDEV || errno == ENOSYS || errno == EINVAL) {
        // Fall back to read/write (older kernels, odd filesystems).
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

class Checkout {
 public:
  Checkout(const Store& store, const Commit& commit) : store_(store), progress_("checking out") {
    for (size_t g = 0; g < commit.hardlinks.size(); ++g)
      for (const std::string& path : commit.hardlinks[g]) group_of_[path] = g;
    first_of_group_.resize(commit.hardlinks.size());
  }

  Status populate(int dir_fd, const std::string& path, const Digest& tree_digest);

  CheckoutStats stats;

 private:
  Status create(int dir_fd, const std::string& path, const Entry& entry);

  const Store& store_;
  Progress progress_;
  std::map<std::string, size_t> group_of_;
  std::vector<std::string> first_of_group_;
  int root_fd_ = -1;

 public:
  void set_root(int fd) { root_fd_ = fd; }
};

Status Checkout::populate(int dir_fd, const std::string& path, const Digest& tree_digest) {
  Tree tree = TRY(store_.objects().read_tree(tree_digest));
  for (const Entry& entry : tree.entries) {
    std::string child = path.empty() ? entry.name : path + "/" + entry.name;
    TRY(create(dir_fd, child, entry));
    ++stats.entries;
    progress_.update(stats.entries, stats.bytes);
  }
  return {};
}

Status Checkout::create(int dir_fd, const std::string& path, const Entry& entry) {
  std::string display = "/" + path;
  const std::string& name = entry.name;
  auto group = group_of_.find(path);
  if (group != group_of_.end()) {
    std::string& first = first_of_group_[group->second];
    if (!first.empty()) {
      if (::linkat(root_fd_, first.c_str(), dir_fd, name.c_str(), 0) != 0)
        return errno_error("linking " + display, errno);
      return {};
    }
    first = path;
  }
  switch (entry.type) {
    case FileType::kDirectory: {
      if (::mkdirat(dir_fd, name.c_str(), 0700) != 0)
        return errno_error("creating " + display, errno);
      UniqueFd child(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child.valid()) return errno_error("opening " + display, errno);
      TRY(populate(child.get(), path, entry.digest));
      break;
    }
    case FileType::kRegular: {
      UniqueFd out(::openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (!out.valid()) return errno_error("creating " + display, errno);
      TRY(copy_object(store_.objects(), entry.digest, entry.size, out.get(), display));
      stats.bytes += entry.size;
      break;
    }
    default:
      TRY(create_special(dir_fd, name, entry, display));
  }
  return apply_metadata(dir_fd, name, entry, display);
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
  UniqueFd probe(::dup(fd.get()));
  DIR* dir = ::fdopendir(probe.release());
  int children = 0;
  while (struct dirent* d = ::readdir(dir))
    if (std::string(d->d_name) != "." && std::string(d->d_name) != "..") ++children;
  ::closedir(dir);
  if (children)
    return make_error(ErrorCode::kAlreadyExists, target + " is not empty; check out into a new "
                                                          "or empty directory");
  Checkout checkout(store, commit);
  checkout.set_root(fd.get());
  TRY(checkout.populate(fd.get(), "", root.digest));
  TRY(apply_metadata(fd.get(), ".", root, target));
  return checkout.stats;
}

}  // namespace goldroot

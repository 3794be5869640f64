// Lower: the read-only image an overlay upper sits on, read only at the
// paths the upper names, so that reading changes costs what the upper
// holds, not what the image holds.
//
//   DirectoryLower  a directory (a checkout, or the client's mounted image)
//   StoreLower      a commit in the site's store, its trees loaded lazily
//
// Lookups never follow symlinks, like overlayfs's own lookups. Not
// thread-safe, except prefetch (never called concurrently with lookup or
// prepare) and same_content.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "image/tree_builder.h"
#include "store/store.h"
#include "sys/unique_fd.h"

namespace goldroot {

class Lower {
 public:
  virtual ~Lower() = default;

  // "commit 3f2a…" or "/srv/lower", for messages.
  virtual std::string describe() const = 0;
  // The object at `path` ("etc/fstab"; "" is the root), or nullopt when
  // nothing is there or a component on the way is not a directory.
  virtual Result<std::optional<Entry>> lookup(const std::string& path) = 0;
  // Announces, while the upper is still being read, that the upper holds
  // `names` in the lower directory `dir`, so that the waits for the two
  // disks overlap. Returns, name by name, what lookup will answer (the
  // entry, nullopt, or the error it will report), or nothing when the
  // implementation does not load ahead. Thread-safe.
  using Prefetched = std::vector<Result<std::optional<Entry>>>;
  virtual Prefetched prefetch(const std::string& dir, const std::vector<std::string>& names) {
    return {};
  }
  // Announces the paths about to be looked up, so that an implementation
  // can load them ahead, several at a time (cold caches wait for the disk).
  virtual Status prepare(const std::vector<std::string>& paths) { return {}; }
  // Opens the content of the regular file `entry` found at `path`.
  virtual Result<UniqueFd> open_content(const std::string& path, const Entry& entry) = 0;
  // Whether the bytes of `fd` (at offset 0) equal the lower file's. Called
  // only when the sizes match. Thread-safe (unlike lookup), so callers may
  // compare many files at once.
  virtual Result<bool> same_content(const std::string& path, const Entry& entry, int fd) = 0;
};

class DirectoryLower : public Lower {
 public:
  static Result<std::unique_ptr<DirectoryLower>> open(const std::string& dir);

  std::string describe() const override { return dir_; }
  Result<std::optional<Entry>> lookup(const std::string& path) override;
  Prefetched prefetch(const std::string& dir, const std::vector<std::string>& names) override;
  Status prepare(const std::vector<std::string>& paths) override;
  Result<UniqueFd> open_content(const std::string& path, const Entry& entry) override;
  Result<bool> same_content(const std::string& path, const Entry& entry, int fd) override;

 private:
  DirectoryLower(std::string dir, UniqueFd fd) : dir_(std::move(dir)), fd_(std::move(fd)) {}
  Result<std::optional<Entry>> read(const std::string& path) const;
  // The lower directory `parent`; nullopt if it is missing or no directory.
  Result<std::optional<UniqueFd>> open_parent(const std::string& parent,
                                              const std::string& display) const;
  // The entry `name` of the open directory `dir_fd`, the lower's `path`.
  Result<std::optional<Entry>> read_in(int dir_fd, const std::string& name,
                                       const std::string& path) const;
  std::string dir_;
  UniqueFd fd_;
  std::mutex prepared_mutex_;  // prefetch fills prepared_ from several threads
  std::unordered_map<std::string, std::optional<Entry>> prepared_;
};

class StoreLower : public Lower {
 public:
  static Result<std::unique_ptr<StoreLower>> open(const Store& store, const Digest& commit);

  std::string describe() const override { return "commit " + commit_.hex().substr(0, 12); }
  Result<std::optional<Entry>> lookup(const std::string& path) override;
  Prefetched prefetch(const std::string& dir, const std::vector<std::string>& names) override;
  Status prepare(const std::vector<std::string>& paths) override;
  Result<UniqueFd> open_content(const std::string& path, const Entry& entry) override;
  Result<bool> same_content(const std::string& path, const Entry& entry, int fd) override;

  const Digest& commit() const { return commit_; }
  // The hardlink groups of the commit.
  const std::vector<std::vector<std::string>>& hardlinks() const { return tree_.hardlinks; }

 private:
  StoreLower(const Store& store, Digest commit, TreeBuilder tree)
      : store_(store), commit_(commit), tree_(std::move(tree)) {}
  // Expands the stored trees down to the directory `parts` names (reading
  // outside the lock, so that several threads wait for the disk at once);
  // nullptr if there is none. Locks expand_mutex_ through `lock`.
  Result<TreeBuilder::Node*> expand_path(const std::vector<std::string>& parts,
                                         std::unique_lock<std::mutex>& lock);

  const Store& store_;
  Digest commit_;
  std::mutex expand_mutex_;  // guards tree_ during prefetch
  TreeBuilder tree_;  // never written: a lazily expanded view of the commit
};

// Two lowers as an overlay stacks them: `upper_lower` (a client's
// read-only host layer, /run/goldroot/middle) over `base` (the image). A
// path the first holds comes from it — unless it is a whiteout (char 0/0),
// which hides the base's; anything else comes from the base. Opaque
// directories in the first are not honoured: host layers delete paths with
// whiteouts. The agent compares a client's upper with this, so a file the
// host layer supplies and a user edits shows as modified, with the layer's
// text in its diff.
class StackedLower : public Lower {
 public:
  StackedLower(std::unique_ptr<Lower> upper_lower, std::unique_ptr<Lower> base)
      : top_(std::move(upper_lower)), base_(std::move(base)) {}

  std::string describe() const override { return top_->describe() + ":" + base_->describe(); }
  Result<std::optional<Entry>> lookup(const std::string& path) override;
  Prefetched prefetch(const std::string& dir, const std::vector<std::string>& names) override;
  Status prepare(const std::vector<std::string>& paths) override;
  Result<UniqueFd> open_content(const std::string& path, const Entry& entry) override;
  Result<bool> same_content(const std::string& path, const Entry& entry, int fd) override;

 private:
  // The lower whose file a lookup of `path` returned (thread-safe).
  Lower* source_of(const std::string& path);
  std::unique_ptr<Lower> top_, base_;
  std::mutex mutex_;
  std::unordered_map<std::string, bool> from_top_;  // path -> a regular file of top_
};

// The SHA-256 of everything readable from `fd`.
Result<Digest> hash_fd(int fd, const std::string& display);

}  // namespace goldroot

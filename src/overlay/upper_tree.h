// UpperTree: an overlayfs upper dir read into memory, every object with its
// overlay role (whiteout, opaque dir, redirect, metacopy) decoded by
// OverlayConventions and its merged-view metadata (private xattrs dropped).
//
// Each node also knows its `origin`: the path in the lower whose object it
// covers, or shows the data of. For a plain entry that is the parent's
// origin plus its name; a redirect replaces it (absolute: from the lower
// root, even below an opaque or new dir, as the kernel does; relative: a
// name in the parent's origin); below an opaque dir nothing has an origin.
// Whether the lower really has an object there is for a Lower to say.
//
// The tree costs memory and time in proportion to the upper, never the
// lower. A live upper may be read (the agent reads its own): entries that
// vanish during the walk are left out. Owns a descriptor of the upper dir for reading file contents.
// Not thread-safe.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "overlay/conventions.h"
#include "store/tree.h"
#include "sys/unique_fd.h"

namespace goldroot {

struct UpperNode {
  enum class Kind { kWhiteout, kDirectory, kOther };

  std::string name;
  std::string path;  // relative: "etc/fstab"; "" for the root
  Kind kind = Kind::kOther;
  Entry entry;       // what the merged view shows (no digest)
  bool opaque = false;
  bool metacopy = false;
  std::optional<std::string> redirect;  // raw xattr value
  std::optional<std::string> origin;    // lower path, see above
  std::optional<std::string> place;     // the lower path at this node's own place
  dev_t device = 0;
  ino_t inode = 0;
  nlink_t links = 0;
  std::vector<std::unique_ptr<UpperNode>> children;  // directories: sorted by name

  bool is_directory() const { return kind == Kind::kDirectory; }
  const UpperNode* child(const std::string& name) const;
  // The origin children inherit: none below an opaque dir or a non-dir.
  std::optional<std::string> child_origin_base() const;
};

class UpperTree {
 public:
  // Told, on the walk's threads, as soon as the entries [begin, end) of
  // `dir` are read (a vanished one's slot is null), before the walk goes
  // below them: a reader can then load the lower's counterparts and compare
  // contents while the rest of the upper is still being read. `dir_fd` is
  // `dir`, open during the call.
  using ReadFunction =
      std::function<void(const UpperNode& dir, int dir_fd, size_t begin, size_t end)>;

  // Reads `upper_dir` (which must exist and be a directory). `entries_read`
  // may be empty; it must be thread-safe.
  static Result<UpperTree> read(const std::string& upper_dir,
                                const OverlayConventions& conventions,
                                const ReadFunction& entries_read = {});

  const UpperNode& root() const { return *root_; }
  const std::string& dir() const { return dir_; }
  uint64_t objects() const { return objects_; }      // entries, whiteouts included
  uint64_t file_bytes() const { return file_bytes_; }  // regular data held by the upper

  // Opens a regular file of the upper for reading.
  Result<UniqueFd> open_file(const UpperNode& node) const;

  // What the merged view shows at `path` ("usr/bin/x"): the upper node, if
  // the upper provides the object, else the lower path it comes from (if it
  // can come from the lower at all). Both empty: the path is whited out or
  // cannot exist.
  struct Resolved {
    const UpperNode* upper = nullptr;
    std::optional<std::string> lower;
  };
  Resolved resolve(const std::string& path) const;

  // Whether `node` was moved here from its origin: it has a redirect to
  // elsewhere and the merged view no longer shows that object at its old
  // path. (A metacopy hardlink also carries a redirect, to a file that is
  // still there: that is a new name, not a move.)
  bool moved(const UpperNode& node) const;

  // Every origin and place of every node: the lower paths a reader of
  // this upper will look up (for Lower::prepare).
  std::vector<std::string> lower_paths() const;
  // Of those, the ones that are not the place of a node: the origins of
  // redirects, and the root "". (Every other one is a name of a listed dir
  // in that dir's lower counterpart.)
  std::vector<std::string> redirected_lower_paths() const;

  // Every directory with a redirect: (merged path, lower origin).
  std::vector<std::pair<std::string, std::string>> redirects() const;

 private:
  // A directory to read, or (for big ones) a slice of its names: the
  // entries of one directory are then stat'ed by several threads.
  struct DirTask {
    UpperNode* node;
    bool xwhiteouts;  // the dir is marked as holding xattr whiteouts
    std::shared_ptr<const std::vector<std::string>> names;  // null: not listed yet
    size_t begin = 0, end = 0;
  };
  // Reads the entries [begin, end) of a listed dir into their slots of
  // task.node->children; appends the subdirectories still to read.
  Status read_entries(int fd, const DirTask& task, const OverlayConventions& conventions,
                      std::vector<DirTask>* subdirs, uint64_t* objects, uint64_t* file_bytes);
  // Reads every directory, several at a time: on a cold cache the walk
  // waits for inode reads, and parallel requests shorten the wait.
  Status read_all(Xattrs root_raw, const OverlayConventions& conventions,
                  const ReadFunction& entries_read);
  // Removes the slots of entries that vanished while the walk ran.
  static void drop_vanished(UpperNode& node);

  std::string dir_;
  UniqueFd fd_;
  std::unique_ptr<UpperNode> root_;
  uint64_t objects_ = 0;
  uint64_t file_bytes_ = 0;
};

// "etc" + "fstab" -> "etc/fstab"; "" + "etc" -> "etc".
std::string child_path(const std::string& parent, const std::string& name);
// Relative "etc/fstab" -> "/etc/fstab"; "" -> "/".
std::string absolute_path(const std::string& relative);

}  // namespace goldroot

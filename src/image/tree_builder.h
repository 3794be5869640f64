// TreeBuilder: a directory tree assembled in memory — from a tar archive, or
// from a lower commit plus an overlay upper in capture — then written to the
// store bottom-up. A directory node may stay "unexpanded": it then stands
// for an existing stored tree, reused by digest without being read, so the
// cost of a capture grows with what changed, not with the image.
//
// Paths are relative ("etc/fstab"); "" is the root. Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "image/import.h"
#include "store/store.h"

namespace goldroot {

class TreeBuilder {
 public:
  struct Node {
    Entry entry;
    bool expanded = true;  // false: children not loaded; entry.digest is the tree
    std::map<std::string, std::unique_ptr<Node>> children;
  };

  TreeBuilder();
  // Starts from a stored commit's root (unexpanded).
  static Result<TreeBuilder> from_commit(const Store& store, const Digest& commit);

  Node& root() { return root_; }
  // The node at `path`, or nullptr. Expands directories on the way.
  Result<Node*> find(const Store* store, const std::string& path);
  // The parent directory of `path`, creating missing directories with
  // `implicit_dir` metadata. Fails if a non-directory is in the way.
  Result<Node*> parent_for(const Store* store, const std::string& path,
                           const Entry& implicit_dir);
  // Loads a directory node's children from its stored tree.
  static Status expand(const Store& store, Node& node);
  // The same with a tree already read (so callers may read many at once).
  static void expand_with(Node& node, Tree tree);

  // Writes every expanded directory's tree; sets the root digest. Counts
  // entries and bytes (reading unexpanded trees for the count).
  Status write(const Store& store, Transaction& transaction, ImportStats* stats);

  // Hardlink groups recorded by path.
  std::vector<std::vector<std::string>> hardlinks;

 private:
  Status write_node(const Store& store, Transaction& transaction, Node& node,
                    ImportStats* stats);
  Node root_;
};

// Splits "a/b/c" into components, rejecting "..", empty and absolute
// escapes: `what` names the source in the error.
Result<std::vector<std::string>> split_relative_path(const std::string& path,
                                                     const std::string& what);

// Counts the entries and file bytes under a stored tree.
Status count_tree(const Store& store, const Digest& tree, ImportStats* stats);

}  // namespace goldroot

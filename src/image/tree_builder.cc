#include "image/tree_builder.h"

#include "base/strings.h"

namespace goldroot {

TreeBuilder::TreeBuilder() {
  root_.entry.name = ".";
  root_.entry.type = FileType::kDirectory;
  root_.entry.mode = 0755;
}

Result<TreeBuilder> TreeBuilder::from_commit(const Store& store, const Digest& commit_id) {
  Commit commit = TRY(store.objects().read_commit(commit_id));
  Tree root_tree = TRY(store.objects().read_tree(commit.root));
  if (root_tree.entries.size() != 1)
    return make_error(ErrorCode::kCorruption, "commit " + commit_id.hex() + " has a bad root");
  TreeBuilder builder;
  builder.root_.entry = root_tree.entries[0];
  builder.root_.expanded = false;
  builder.hardlinks = commit.hardlinks;
  return builder;
}

Result<std::vector<std::string>> split_relative_path(const std::string& path,
                                                     const std::string& what) {
  std::vector<std::string> parts;
  for (const std::string& part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return make_error(ErrorCode::kInvalidArgument,
                        what + " '" + escape_path(path) + "' escapes the tree with '..'");
    parts.push_back(part);
  }
  return parts;
}

Status TreeBuilder::expand(const Store& store, Node& node) {
  if (node.expanded) return {};
  expand_with(node, TRY(store.objects().read_tree(node.entry.digest)));
  return {};
}

void TreeBuilder::expand_with(Node& node, Tree tree) {
  for (Entry& entry : tree.entries) {
    auto child = std::make_unique<Node>();
    child->expanded = entry.type != FileType::kDirectory;
    std::string name = entry.name;
    child->entry = std::move(entry);
    node.children.emplace(std::move(name), std::move(child));
  }
  node.expanded = true;
}

Result<TreeBuilder::Node*> TreeBuilder::find(const Store* store, const std::string& path) {
  auto parts = TRY(split_relative_path(path, "path"));
  Node* node = &root_;
  for (const std::string& part : parts) {
    if (node->entry.type != FileType::kDirectory) return static_cast<Node*>(nullptr);
    if (!node->expanded) {
      if (!store) return make_error(ErrorCode::kInvalidArgument, "tree is not loaded");
      TRY(expand(*store, *node));
    }
    auto it = node->children.find(part);
    if (it == node->children.end()) return static_cast<Node*>(nullptr);
    node = it->second.get();
  }
  return node;
}

Result<TreeBuilder::Node*> TreeBuilder::parent_for(const Store* store, const std::string& path,
                                                   const Entry& implicit_dir) {
  auto parts = TRY(split_relative_path(path, "path"));
  if (parts.empty()) return make_error(ErrorCode::kInvalidArgument, "the root has no parent");
  parts.pop_back();
  Node* node = &root_;
  std::string walked;
  for (const std::string& part : parts) {
    walked += (walked.empty() ? "" : "/") + part;
    if (!node->expanded) TRY(expand(*store, *node));
    auto& child = node->children[part];
    if (!child) {
      child = std::make_unique<Node>();
      child->entry = implicit_dir;
      child->entry.name = part;
      child->entry.type = FileType::kDirectory;
    } else if (child->entry.type != FileType::kDirectory) {
      return make_error(ErrorCode::kInvalidArgument,
                        "'" + escape_path(walked) + "' is not a directory, but '" +
                            escape_path(path) + "' is inside it");
    }
    node = child.get();
  }
  if (!node->expanded) TRY(expand(*store, *node));
  return node;
}

Status count_tree(const Store& store, const Digest& digest, ImportStats* stats) {
  Tree tree = TRY(store.objects().read_tree(digest));
  for (const Entry& entry : tree.entries) {
    ++stats->entries;
    if (entry.type == FileType::kRegular) stats->size += entry.size;
    if (entry.type == FileType::kDirectory) TRY(count_tree(store, entry.digest, stats));
  }
  return {};
}

Status TreeBuilder::write_node(const Store& store, Transaction& transaction, Node& node,
                               ImportStats* stats) {
  if (!node.expanded) return count_tree(store, node.entry.digest, stats);
  Tree tree;
  for (auto& [name, child] : node.children) {
    ++stats->entries;
    if (child->entry.type == FileType::kDirectory)
      TRY(write_node(store, transaction, *child, stats));
    else if (child->entry.type == FileType::kRegular)
      stats->size += child->entry.size;
    child->entry.name = name;
    tree.entries.push_back(child->entry);
  }
  node.entry.digest = TRY(transaction.add_bytes(ObjectType::kTree, tree.serialize()));
  return {};
}

Status TreeBuilder::write(const Store& store, Transaction& transaction, ImportStats* stats) {
  return write_node(store, transaction, root_, stats);
}

}  // namespace goldroot

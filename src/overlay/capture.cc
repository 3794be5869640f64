#include "overlay/capture.h"

#include <algorithm>
#include <map>
#include <set>

#include "image/tree_builder.h"
#include "overlay/lower.h"
#include "overlay/upper_tree.h"

namespace goldroot {

namespace {

using Node = TreeBuilder::Node;

class Capturer {
 public:
  Capturer(Store& store, StoreLower& lower, const UpperTree& upper, Transaction& transaction)
      : store_(store), lower_(lower), upper_(upper), transaction_(transaction) {}

  // Applies the children of upper dir `dir` onto `target` (expanded).
  Status apply_children(const UpperNode& dir, Node& target);
  std::vector<std::vector<std::string>> hardlinks() const;

  ImportStats stats;

 private:
  Result<std::unique_ptr<Node>> make_node(const UpperNode& node);

  Store& store_;
  StoreLower& lower_;
  const UpperTree& upper_;
  Transaction& transaction_;
  std::map<std::pair<dev_t, ino_t>, std::vector<std::string>> upper_links_;
};

Status Capturer::apply_children(const UpperNode& dir, Node& target) {
  for (const auto& child : dir.children) {
    if (child->kind == UpperNode::Kind::kWhiteout) {
      target.children.erase(child->name);
      continue;
    }
    target.children[child->name] = TRY(make_node(*child));
  }
  return {};
}

Result<std::unique_ptr<Node>> Capturer::make_node(const UpperNode& upper_node) {
  auto node = std::make_unique<Node>();
  node->entry = upper_node.entry;
  const std::string display = upper_.dir() + absolute_path(upper_node.path);
  if (upper_node.is_directory()) {
    std::optional<Entry> lower;
    if (!upper_node.opaque && upper_node.origin) lower = TRY(lower_.lookup(*upper_node.origin));
    if (lower && lower->type == FileType::kDirectory) {
      // Merged with the lower dir: start from its stored tree.
      node->entry.digest = lower->digest;
      node->expanded = false;
      if (!upper_node.children.empty()) TRY(TreeBuilder::expand(store_, *node));
    }
    TRY(apply_children(upper_node, *node));
    return node;
  }
  if (upper_node.entry.type == FileType::kRegular) {
    if (upper_node.metacopy) {
      std::optional<Entry> data;
      if (upper_node.origin) data = TRY(lower_.lookup(*upper_node.origin));
      if (!data || data->type != FileType::kRegular)
        return make_error(ErrorCode::kCorruption,
                          display + " is a metadata-only copy (metacopy) but the lower has no "
                                    "file at " + absolute_path(upper_node.origin.value_or("?")));
      node->entry.digest = data->digest;
      node->entry.size = data->size;
    } else {
      UniqueFd fd = TRY(upper_.open_file(upper_node));
      uint64_t length = 0;
      node->entry.digest = TRY(transaction_.add_file(fd.get(), display, &length));
      node->entry.size = length;
      ++stats.files_hashed;
    }
  }
  if (upper_node.links > 1)
    upper_links_[{upper_node.device, upper_node.inode}].push_back(upper_node.path);
  return node;
}

std::vector<std::vector<std::string>> Capturer::hardlinks() const {
  std::vector<std::vector<std::string>> groups;
  for (const auto& [inode, paths] : upper_links_)
    if (paths.size() > 1) groups.push_back(paths);
  // A lower group keeps the members the merged view still shows as that
  // lower object: at their own path, or moved along with a renamed dir.
  auto redirects = upper_.redirects();
  for (const auto& group : lower_.hardlinks()) {
    std::set<std::string> members;
    for (const std::string& path : group) {
      std::vector<std::string> candidates{path};
      for (const auto& [merged, origin] : redirects)
        if (path.size() > origin.size() && path.compare(0, origin.size(), origin) == 0 &&
            path[origin.size()] == '/')
          candidates.push_back(merged + path.substr(origin.size()));
      for (const std::string& candidate : candidates) {
        UpperTree::Resolved shown = upper_.resolve(candidate);
        if (!shown.upper && shown.lower == path) members.insert(candidate);
      }
    }
    if (members.size() > 1) groups.emplace_back(members.begin(), members.end());
  }
  for (auto& group : groups) std::sort(group.begin(), group.end());
  std::sort(groups.begin(), groups.end());
  return groups;
}

}  // namespace

Result<CaptureResult> capture(Store& store, const Digest& lower_commit,
                              const std::string& upper_dir, const CaptureOptions& options) {
  TRY(validate_ref_name(options.name, "image"));
  OverlayConventions conventions(options.xattrs);
  UpperTree upper = TRY(UpperTree::read(upper_dir, conventions));
  auto lower = TRY(StoreLower::open(store, lower_commit));
  TreeBuilder builder = TRY(TreeBuilder::from_commit(store, lower_commit));

  Transaction transaction(&store.objects());
  TRY(transaction.begin());
  Capturer capturer(store, *lower, upper, transaction);
  Node& root = builder.root();
  Digest lower_root = root.entry.digest;
  root.entry = upper.root().entry;
  root.entry.name = ".";
  root.entry.digest = lower_root;
  TRY(TreeBuilder::expand(store, root));
  TRY(capturer.apply_children(upper.root(), root));

  ImportStats stats = capturer.stats;
  TRY(builder.write(store, transaction, &stats));
  stats.bytes_written = transaction.bytes_written();
  Digest commit = TRY(write_commit(store, transaction, root.entry, stats, capturer.hardlinks(),
                                   ImportOptions{options.name, options.message}, {lower_commit}));
  stats.objects_written = transaction.objects_written();
  return CaptureResult{commit, stats};
}

}  // namespace goldroot

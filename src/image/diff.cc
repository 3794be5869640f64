#include "image/diff.h"

namespace goldroot {

const char* change_kind_name(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kAdded: return "added";
    case ChangeKind::kModified: return "modified";
    case ChangeKind::kMetadata: return "metadata";
    case ChangeKind::kDeleted: return "deleted";
  }
  return "changed";
}

namespace {

using Visit = std::function<void(const TreeChange&)>;

Status report_all(const Store& store, const std::string& path, const Entry& entry,
                  ChangeKind kind, const Visit& visit) {
  visit({path, kind, kind == ChangeKind::kAdded ? nullptr : &entry,
         kind == ChangeKind::kAdded ? &entry : nullptr});
  if (entry.type != FileType::kDirectory) return {};
  Tree tree = TRY(store.objects().read_tree(entry.digest));
  for (const Entry& child : tree.entries)
    TRY(report_all(store, path + "/" + child.name, child, kind, visit));
  return {};
}

Status report_children(const Store& store, const std::string& path, const Entry& dir,
                       ChangeKind kind, const Visit& visit) {
  Tree tree = TRY(store.objects().read_tree(dir.digest));
  for (const Entry& child : tree.entries)
    TRY(report_all(store, path + "/" + child.name, child, kind, visit));
  return {};
}

Status diff_trees(const Store& store, const std::string& path, const Digest& a, const Digest& b,
                  const Visit& visit) {
  if (a == b) return {};
  Tree left = TRY(store.objects().read_tree(a));
  Tree right = TRY(store.objects().read_tree(b));
  size_t i = 0, j = 0;
  while (i < left.entries.size() || j < right.entries.size()) {
    const Entry* l = i < left.entries.size() ? &left.entries[i] : nullptr;
    const Entry* r = j < right.entries.size() ? &right.entries[j] : nullptr;
    if (r == nullptr || (l && l->name < r->name)) {
      TRY(report_all(store, path + "/" + l->name, *l, ChangeKind::kDeleted, visit));
      ++i;
    } else if (l == nullptr || r->name < l->name) {
      TRY(report_all(store, path + "/" + r->name, *r, ChangeKind::kAdded, visit));
      ++j;
    } else {
      std::string child = path + "/" + l->name;
      if (l->type != r->type) {
        // A type change replaces one object with another: what was inside
        // an old directory is gone, what is inside a new one is added.
        visit({child, ChangeKind::kModified, l, r});
        if (l->type == FileType::kDirectory) TRY(report_children(store, child, *l, ChangeKind::kDeleted, visit));
        if (r->type == FileType::kDirectory) TRY(report_children(store, child, *r, ChangeKind::kAdded, visit));
      } else if (l->type == FileType::kDirectory) {
        if (!l->same_metadata(*r)) visit({child, ChangeKind::kMetadata, l, r});
        TRY(diff_trees(store, child, l->digest, r->digest, visit));
      } else if (!l->same_content(*r)) {
        visit({child, ChangeKind::kModified, l, r});
      } else if (!l->same_metadata(*r)) {
        visit({child, ChangeKind::kMetadata, l, r});
      }
      ++i;
      ++j;
    }
  }
  return {};
}

Result<Entry> root_entry(const Store& store, const Digest& commit_id) {
  Commit commit = TRY(store.objects().read_commit(commit_id));
  Tree root = TRY(store.objects().read_tree(commit.root));
  if (root.entries.size() != 1)
    return make_error(ErrorCode::kCorruption, "commit " + commit_id.hex() + " has a bad root");
  return root.entries[0];
}

}  // namespace

Status diff_commits(const Store& store, const Digest& from, const Digest& to,
                    const Visit& visit) {
  Entry a = TRY(root_entry(store, from));
  Entry b = TRY(root_entry(store, to));
  if (!a.same_metadata(b)) visit({"/", ChangeKind::kMetadata, &a, &b});
  return diff_trees(store, "", a.digest, b.digest, visit);
}

}  // namespace goldroot

#include "overlay/changes.h"

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "base/parallel.h"
#include "overlay/upper_tree.h"

namespace goldroot {

const char* change_kind_name(Change::Kind kind) {
  switch (kind) {
    case Change::Kind::kAdded: return "added";
    case Change::Kind::kModified: return "modified";
    case Change::Kind::kMetadata: return "metadata";
    case Change::Kind::kDeleted: return "deleted";
    case Change::Kind::kOpaque: return "opaque";
    case Change::Kind::kTypeChanged: return "type-changed";
    case Change::Kind::kRenamed: return "renamed";
  }
  return "changed";
}

bool ChangeSet::dirty() const {
  for (uint64_t count : counts)
    if (count) return true;
  return false;
}

std::string ChangeSet::summary() const {
  std::string text;
  for (size_t kind = 0; kind < Change::kKinds; ++kind) {
    if (!counts[kind]) continue;
    if (!text.empty()) text += ", ";
    text += std::to_string(counts[kind]) + " " + change_kind_name(static_cast<Change::Kind>(kind));
  }
  if (text.empty()) text = "no changes";
  if (ignored) text += " (" + std::to_string(ignored) + " ignored)";
  return text;
}

namespace {

// Which upper files hold other bytes than their lower counterpart.
using ContentDiffers = std::unordered_map<const UpperNode*, bool>;

// Runs on the upper walk's threads (UpperTree's `entries_read`): asks the
// lower for the counterparts of the entries just read and compares the
// bytes of the plain files whose sizes match, so that waiting for those
// reads overlaps the rest of the walk. What it cannot settle (redirected
// files, errors, a lower that does not load ahead) is left to
// ChangeReader::compare_contents, which reports the errors.
class EarlyComparer {
 public:
  explicit EarlyComparer(Lower& lower) : lower_(lower) {}

  void entries_read(const UpperNode& dir, int dir_fd, size_t begin, size_t end);
  // Whether the lower answered for every listed dir: then it holds every
  // place already, and only redirects name other lower paths.
  bool answered_all() const { return answered_all_; }
  ContentDiffers take() { return std::move(differs_); }

 private:
  Lower& lower_;
  std::mutex mutex_;  // guards differs_
  ContentDiffers differs_;
  std::atomic<bool> answered_all_{true};
};

void EarlyComparer::entries_read(const UpperNode& dir, int dir_fd, size_t begin, size_t end) {
  std::optional<std::string> base = dir.child_origin_base();
  if (!base) return;
  std::vector<const UpperNode*> nodes;
  std::vector<std::string> names;
  for (size_t i = begin; i < end; ++i) {
    if (!dir.children[i]) continue;
    nodes.push_back(dir.children[i].get());
    names.push_back(dir.children[i]->name);
  }
  Lower::Prefetched found = lower_.prefetch(*base, names);
  if (found.size() != names.size()) {
    answered_all_ = false;
    return;
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const UpperNode& node = *nodes[i];
    // Not redirected: its baseline is its own place, base/name.
    if (node.kind != UpperNode::Kind::kOther || node.metacopy || node.redirect ||
        node.entry.type != FileType::kRegular)
      continue;
    if (!found[i].ok() || !*found[i]) continue;
    const Entry& lower = **found[i];
    if (lower.type != FileType::kRegular || lower.size != node.entry.size) continue;
    // The upper's flags (UpperTree::open_file), relative to the open dir.
    UniqueFd fd(::openat(dir_fd, node.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC));
    if (!fd.valid()) continue;
    auto same = lower_.same_content(child_path(*base, node.name), lower, fd.get());
    if (!same.ok()) continue;
    std::lock_guard lock(mutex_);
    differs_[&node] = !*same;
  }
}

class ChangeReader {
 public:
  ChangeReader(Lower& lower, const UpperTree& upper, ChangeSet& out, ContentDiffers differs)
      : lower_(lower), upper_(upper), out_(out), differs_(std::move(differs)) {}

  // Compares, on several threads, the bytes of every upper file whose
  // lower counterpart has the same size: on a cold cache this is waiting
  // for the disk, which parallel reads shorten.
  Status compare_contents(const UpperNode& root);
  // Appends the changes below `dir`; returns whether there were any.
  Result<bool> visit_children(const UpperNode& dir);
  // Drops whiteouts left behind by the renames that were reported.
  void fold_renames();

 private:
  Result<bool> visit(const UpperNode& node);
  Result<std::optional<Entry>> lookup(const std::optional<std::string>& path) {
    if (!path) return std::optional<Entry>();
    auto cached = lookups_.find(*path);
    if (cached != lookups_.end()) return cached->second;
    std::optional<Entry> entry = TRY(lower_.lookup(*path));
    lookups_.emplace(*path, entry);
    return entry;
  }
  Result<bool> content_differs(const UpperNode& node, const std::string& baseline_path,
                               const Entry& baseline);

  Lower& lower_;
  const UpperTree& upper_;
  ChangeSet& out_;
  std::map<std::string, std::string> deleted_origin_;  // merged path -> lower path
  std::set<std::string> renamed_from_;
  std::unordered_map<std::string, std::optional<Entry>> lookups_;
  ContentDiffers differs_;  // from EarlyComparer and compare_contents
};

Status ChangeReader::compare_contents(const UpperNode& root) {
  struct Job {
    const UpperNode* node;
    const std::string* path;
    const Entry* baseline;
  };
  std::vector<Job> jobs;
  std::vector<const UpperNode*> pending{&root};
  while (!pending.empty()) {
    const UpperNode* dir = pending.back();
    pending.pop_back();
    for (const auto& child : dir->children) {
      if (child->is_directory()) pending.push_back(child.get());
      if (child->kind != UpperNode::Kind::kOther || child->metacopy ||
          child->entry.type != FileType::kRegular)
        continue;
      const std::optional<std::string>& baseline = upper_.moved(*child) ? child->origin : child->place;
      std::optional<Entry> lower = TRY(lookup(baseline));
      if (!lower || lower->type != FileType::kRegular || lower->size != child->entry.size) continue;
      if (differs_.count(child.get())) continue;  // compared during the walk
      jobs.push_back({child.get(), &*baseline, nullptr});
    }
  }
  // Entries live in lookups_, which no longer changes.
  for (Job& job : jobs) job.baseline = &*lookups_.at(*job.path);
  std::vector<char> differs(jobs.size(), 0);
  TRY(parallel_for(jobs.size(), io_threads(), [&](size_t i) -> Status {
    auto fd = upper_.open_file(*jobs[i].node);
    if (!fd.ok() && fd.error().code == ErrorCode::kNotFound) {
      differs[i] = 1;  // it vanished from a live upper: certainly not the lower's bytes
      return {};
    }
    if (!fd.ok()) return std::move(fd).error();
    differs[i] = !TRY(lower_.same_content(*jobs[i].path, *jobs[i].baseline, fd->get()));
    return {};
  }));
  for (size_t i = 0; i < jobs.size(); ++i) differs_[jobs[i].node] = differs[i];
  return {};
}

Result<bool> ChangeReader::visit_children(const UpperNode& dir) {
  bool any = false;
  for (const auto& child : dir.children)
    if (TRY(visit(*child))) any = true;
  return any;
}

Result<bool> ChangeReader::content_differs(const UpperNode& node, const std::string& baseline_path,
                                           const Entry& lower) {
  const Entry& entry = node.entry;
  switch (entry.type) {
    case FileType::kRegular: {
      if (entry.size != lower.size) return true;
      if (node.metacopy) {
        // Its bytes are the lower's at its origin: compare those.
        if (node.origin == baseline_path) return false;
        std::optional<Entry> data = TRY(lookup(node.origin));
        if (!data || data->type != FileType::kRegular) return true;
        UniqueFd fd = TRY(lower_.open_content(*node.origin, *data));
        return !TRY(lower_.same_content(baseline_path, lower, fd.get()));
      }
      auto known = differs_.find(&node);
      if (known != differs_.end()) return known->second;
      UniqueFd fd = TRY(upper_.open_file(node));
      return !TRY(lower_.same_content(baseline_path, lower, fd.get()));
    }
    case FileType::kSymlink: return entry.target != lower.target;
    case FileType::kCharDevice:
    case FileType::kBlockDevice: return entry.rdev != lower.rdev;
    default: return false;
  }
}

Result<bool> ChangeReader::visit(const UpperNode& node) {
  Change change;
  change.path = absolute_path(node.path);
  change.type = node.entry.type;
  if (node.entry.type == FileType::kRegular) change.size = node.entry.size;
  bool moved = upper_.moved(node);
  const std::optional<std::string>& baseline = moved ? node.origin : node.place;
  std::optional<Entry> lower = TRY(lookup(node.kind == UpperNode::Kind::kWhiteout ? node.origin : baseline));

  if (node.kind == UpperNode::Kind::kWhiteout) {
    if (!lower) return false;  // nothing was there to hide
    change.kind = Change::Kind::kDeleted;
    change.type = lower->type;
    change.size = lower->type == FileType::kRegular ? lower->size : 0;
    deleted_origin_[change.path] = *node.origin;
    out_.changes.push_back(std::move(change));
    return true;
  }

  bool report = true;
  if (!lower) {
    change.kind = Change::Kind::kAdded;
  } else if (lower->type != node.entry.type) {
    change.kind = Change::Kind::kTypeChanged;
    change.old_type = lower->type;
  } else if (node.is_directory() && node.opaque) {
    change.kind = Change::Kind::kOpaque;
  } else {
    change.fields = lower->metadata_differences(node.entry);
    change.content_changed =
        !node.is_directory() && TRY(content_differs(node, *baseline, *lower));
    if (moved) {
      change.kind = Change::Kind::kRenamed;
      change.from = absolute_path(*node.origin);
      renamed_from_.insert(*node.origin);
    } else if (change.content_changed) {
      change.kind = Change::Kind::kModified;
    } else if (!change.fields.empty()) {
      change.kind = Change::Kind::kMetadata;
    } else {
      report = false;
    }
  }

  size_t position = out_.changes.size();
  bool only_mtime = change.kind == Change::Kind::kMetadata && change.fields.size() == 1 &&
                    change.fields[0] == "mtime";
  if (report) out_.changes.push_back(std::move(change));
  if (!node.is_directory()) return report;
  bool inside = TRY(visit_children(node));
  if (report && only_mtime && inside) {
    out_.changes.erase(out_.changes.begin() + static_cast<std::ptrdiff_t>(position));
    report = false;
  }
  return report || inside;
}

void ChangeReader::fold_renames() {
  std::erase_if(out_.changes, [&](const Change& change) {
    if (change.kind != Change::Kind::kDeleted) return false;
    auto origin = deleted_origin_.find(change.path);
    return origin != deleted_origin_.end() && renamed_from_.count(origin->second);
  });
}

}  // namespace

Result<ChangeSet> read_changes(Lower& lower, const std::string& upper_dir,
                               const IgnoreList& ignore, const ChangeOptions& options) {
  OverlayConventions conventions(options.xattrs);
  // The lower is read, and contents compared, while the upper is walked:
  // all of them wait for the disk.
  EarlyComparer early(lower);
  UpperTree upper = TRY(UpperTree::read(
      upper_dir, conventions, [&early](const UpperNode& dir, int dir_fd, size_t begin, size_t end) {
        early.entries_read(dir, dir_fd, begin, end);
      }));
  ChangeSet set;
  set.upper_objects = upper.objects();
  set.upper_bytes = upper.file_bytes();

  ChangeReader reader(lower, upper, set, early.take());
  // The root: only its mode, owner and xattrs count (see changes.h).
  std::optional<Entry> lower_root = TRY(lower.lookup(""));
  if (!lower_root)
    return make_error(ErrorCode::kNotFound, "the lower " + lower.describe() + " has no root");
  Change root;
  root.path = "/";
  root.type = FileType::kDirectory;
  root.kind = Change::Kind::kMetadata;
  root.fields = lower_root->metadata_differences(upper.root().entry);
  std::erase(root.fields, std::string("mtime"));
  if (!root.fields.empty()) set.changes.push_back(root);
  TRY(lower.prepare(early.answered_all() ? upper.redirected_lower_paths() : upper.lower_paths()));
  TRY(reader.compare_contents(upper.root()));
  TRY(reader.visit_children(upper.root()));
  reader.fold_renames();

  for (Change& change : set.changes) {
    change.ignored = ignore.matches(change.path);
    if (change.ignored) ++set.ignored;
    else ++set.counts[static_cast<size_t>(change.kind)];
  }
  return set;
}

}  // namespace goldroot

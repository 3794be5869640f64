#include "image/verify.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>

#include "base/progress.h"
#include "sys/unique_fd.h"

namespace goldroot {

namespace {

using ObjectKey = std::pair<ObjectType, Digest>;

// Walks history and trees, remembering which problems sit under each object
// so that shared subtrees are read once however many refs need them.
class Walker {
 public:
  Walker(const Store& store, std::map<ObjectKey, std::string>& corrupt,
         std::vector<Problem>& problems)
      : store_(store), corrupt_(corrupt), problems_(problems) {}

  std::set<size_t> under(ObjectType type, const Digest& digest) {
    ObjectKey key{type, digest};
    if (auto it = memo_.find(key); it != memo_.end()) return it->second;
    std::set<size_t> found;
    if (!store_.objects().has(type, digest)) {
      found.insert(problem(key, "missing", "not in the store"));
    } else if (auto bad = corrupt_.find(key); bad != corrupt_.end()) {
      found.insert(problem(key, "corrupt", bad->second));
    } else if (type == ObjectType::kCommit) {
      auto commit = store_.objects().read_commit(digest);
      if (!commit.ok()) {
        found.insert(problem(key, "corrupt", commit.error().message));
      } else {
        merge(found, under(ObjectType::kTree, commit->root));
        for (const Digest& parent : commit->parents) merge(found, under(ObjectType::kCommit, parent));
      }
    } else if (type == ObjectType::kTree) {
      auto tree = store_.objects().read_tree(digest);
      if (!tree.ok()) {
        found.insert(problem(key, "corrupt", tree.error().message));
      } else {
        for (const Entry& entry : tree->entries) {
          if (entry.type == FileType::kDirectory)
            merge(found, under(ObjectType::kTree, entry.digest));
          else if (entry.type == FileType::kRegular)
            merge(found, under(ObjectType::kFile, entry.digest));
        }
      }
    }
    reachable.insert(key);
    memo_[key] = found;
    return found;
  }

  std::set<ObjectKey> reachable;

 private:
  static void merge(std::set<size_t>& into, const std::set<size_t>& from) {
    into.insert(from.begin(), from.end());
  }
  size_t problem(const ObjectKey& key, const char* kind, const std::string& detail) {
    if (auto it = index_.find(key); it != index_.end()) return it->second;
    problems_.push_back({kind, key.first, key.second, detail, {}});
    index_[key] = problems_.size() - 1;
    return problems_.size() - 1;
  }

  const Store& store_;
  std::map<ObjectKey, std::string>& corrupt_;
  std::vector<Problem>& problems_;
  std::map<ObjectKey, std::set<size_t>> memo_;
  std::map<ObjectKey, size_t> index_;
};

}  // namespace

Result<FsckReport> fsck(const Store& store) {
  FsckReport report;
  std::map<ObjectKey, std::string> corrupt;
  Progress progress("verifying");
  Status failure;
  TRY(store.objects().for_each_object([&](ObjectType type, const Digest& digest) {
    std::string path = store.objects().object_path(type, digest);
    uint64_t size = 0;
    auto actual = sha256_of_file(path, &size);
    if (!actual.ok()) {
      corrupt[{type, digest}] = actual.error().message;
    } else if (*actual != digest) {
      corrupt[{type, digest}] = "content does not match its name (hash " + actual->hex() + ")";
    }
    ++report.objects_checked;
    report.bytes_checked += size;
    progress.update(report.objects_checked, report.bytes_checked);
    return true;
  }));
  progress.finish();

  Walker walker(store, corrupt, report.problems);
  for (const auto& [commit, names] : TRY(store.ref_roots())) {
    for (size_t index : walker.under(ObjectType::kCommit, commit))
      for (const std::string& name : names) report.problems[index].needed_by.push_back(name);
  }
  // Corrupt objects that nothing needs are still worth naming.
  for (const auto& [key, detail] : corrupt)
    if (!walker.reachable.count(key))
      report.problems.push_back({"corrupt", key.first, key.second, detail, {}});
  return report;
}

Result<GcReport> gc(Store& store, const std::map<Digest, std::vector<std::string>>& extra_roots) {
  std::map<ObjectKey, std::string> no_corruption_known;
  std::vector<Problem> problems;
  Walker walker(store, no_corruption_known, problems);
  for (const auto& [commit, names] : TRY(store.ref_roots())) walker.under(ObjectType::kCommit, commit);
  for (const auto& [commit, names] : extra_roots) {
    // A pin may name a commit this store never had: nothing to keep.
    if (!store.objects().has(ObjectType::kCommit, commit)) continue;
    walker.under(ObjectType::kCommit, commit);
  }
  if (!problems.empty())
    return make_error(ErrorCode::kCorruption,
                      std::string("refusing to collect garbage: ") + problems[0].kind + " " +
                          object_type_name(problems[0].type) + " object " +
                          problems[0].digest.hex() + " is needed; run 'goldroot image fsck'");
  GcReport report;
  std::vector<ObjectKey> unreachable;
  TRY(store.objects().for_each_object([&](ObjectType type, const Digest& digest) {
    if (walker.reachable.count({type, digest})) ++report.objects_kept;
    else unreachable.push_back({type, digest});
    return true;
  }));
  if (!unreachable.empty()) TRY(store.advance_gc_generation());
  for (const auto& [type, digest] : unreachable) {
    std::string path = store.objects().object_path(type, digest);
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) report.bytes_freed += static_cast<uint64_t>(st.st_size);
    TRY(store.env()->remove_file(path));
    ++report.objects_removed;
  }
  store.clean_tmp();
  if (report.objects_removed) TRY(store.env()->sync_filesystem(store.objects().objects_dir()));
  return report;
}

}  // namespace goldroot

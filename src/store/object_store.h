// ObjectStore: the content-addressed objects of a site, under
// SITE/store/objects/ab/cdef….{file,tree,commit}. Objects are immutable and
// named by the SHA-256 of their bytes. A file object holds a file's raw
// content ("bare", like OSTree's bare repos), so checkout and export can copy
// or reflink it directly.
//
// New objects are written through a Transaction: staged under SITE/store/tmp,
// made durable with one syncfs, renamed into place, and synced again. A crash
// at any point leaves only complete objects in objects/ (plus, at worst,
// unreferenced ones that gc removes) — OSTree's staging scheme.
//
// Reads are thread-safe. A Transaction may be used from several threads.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/hash.h"
#include "base/result.h"
#include "store/commit.h"
#include "store/tree.h"
#include "sys/env.h"
#include "sys/unique_fd.h"

namespace goldroot {

enum class ObjectType { kFile, kTree, kCommit };

const char* object_type_name(ObjectType type);

class ObjectStore {
 public:
  ObjectStore(Env* env, std::string store_dir);

  const std::string& dir() const { return dir_; }
  std::string objects_dir() const { return dir_ + "/objects"; }
  std::string object_path(ObjectType type, const Digest& digest) const;
  bool has(ObjectType type, const Digest& digest) const;

  // Reads a tree or commit object and checks its digest.
  Result<std::string> read_verified(ObjectType type, const Digest& digest) const;
  Result<Tree> read_tree(const Digest& digest) const;
  Result<Commit> read_commit(const Digest& digest) const;
  Result<UniqueFd> open_file(const Digest& digest) const;

  // Commit ids that start with `prefix` (at most `limit`).
  std::vector<Digest> find_commits(std::string_view prefix, size_t limit) const;

  // Calls `visit` for every object on disk; stops early if it returns false.
  template <class F>
  Status for_each_object(F&& visit) const;

  Env* env() const { return env_; }

 private:
  friend class Transaction;
  Env* env_;
  std::string dir_;
};

class Transaction {
 public:
  explicit Transaction(ObjectStore* store);
  ~Transaction();  // Abandons staged objects unless commit() succeeded.
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status begin();
  Result<Digest> add_bytes(ObjectType type, std::string_view data);
  // Streams a file's content into the store while hashing it; returns the
  // digest and sets *length to the bytes actually read.
  Result<Digest> add_file(int fd, const std::string& display_path, uint64_t* length);
  // The same for any byte source: `read` fills a buffer and returns the
  // bytes it put there, 0 at the end.
  using Reader = std::function<Result<size_t>(char* buffer, size_t capacity)>;
  Result<Digest> add_stream(const Reader& read, uint64_t* length);
  // Makes every staged object durable and visible.
  Status commit();

  uint64_t bytes_written() const { return bytes_written_; }
  uint64_t objects_written() const { return objects_written_; }

 private:
  Status stage(ObjectType type, const Digest& digest, const std::string& temporary);

  ObjectStore* store_;
  std::string tmp_dir_;
  std::atomic<uint64_t> counter_{0};
  std::mutex mutex_;
  std::unordered_set<Digest> staged_[3];
  std::vector<std::pair<std::string, std::string>> renames_;  // temporary -> final
  std::atomic<uint64_t> bytes_written_{0};
  uint64_t objects_written_ = 0;
  bool committed_ = false;
};

// Removes a directory tree (best effort; used for staging dirs and tests).
void remove_tree(const std::string& path);

template <class F>
Status ObjectStore::for_each_object(F&& visit) const {
  auto prefixes = TRY(env_->list_dir(objects_dir()));
  for (const std::string& prefix : prefixes) {
    if (prefix.size() != 2 || !is_hex(prefix)) continue;
    auto names = TRY(env_->list_dir(objects_dir() + "/" + prefix));
    for (const std::string& name : names) {
      size_t dot = name.find('.');
      if (dot != 62) continue;
      auto digest = Digest::from_hex(prefix + name.substr(0, 62));
      if (!digest) continue;
      std::string extension = name.substr(dot + 1);
      ObjectType type;
      if (extension == "file") type = ObjectType::kFile;
      else if (extension == "tree") type = ObjectType::kTree;
      else if (extension == "commit") type = ObjectType::kCommit;
      else continue;
      if (!visit(type, *digest)) return {};
    }
  }
  return {};
}

}  // namespace goldroot

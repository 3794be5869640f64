#include "store/object_store.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

namespace goldroot {

const char* object_type_name(ObjectType type) {
  switch (type) {
    case ObjectType::kFile: return "file";
    case ObjectType::kTree: return "tree";
    case ObjectType::kCommit: return "commit";
  }
  return "object";
}

ObjectStore::ObjectStore(Env* env, std::string store_dir) : env_(env), dir_(std::move(store_dir)) {}

std::string ObjectStore::object_path(ObjectType type, const Digest& digest) const {
  std::string hex = digest.hex();
  return dir_ + "/objects/" + hex.substr(0, 2) + "/" + hex.substr(2) + "." +
         object_type_name(type);
}

bool ObjectStore::has(ObjectType type, const Digest& digest) const {
  return env_->exists(object_path(type, digest));
}

Result<std::string> ObjectStore::read_verified(ObjectType type, const Digest& digest) const {
  std::string path = object_path(type, digest);
  auto data = env_->read_file(path);
  if (!data.ok()) {
    if (data.error().code == ErrorCode::kNotFound)
      return make_error(ErrorCode::kCorruption, std::string("missing ") + object_type_name(type) +
                                                    " object " + digest.hex());
    return std::move(data).error();
  }
  if (Sha256::of(*data) != digest)
    return make_error(ErrorCode::kCorruption,
                      std::string("corrupt ") + object_type_name(type) + " object " + digest.hex());
  return data;
}

Result<Tree> ObjectStore::read_tree(const Digest& digest) const {
  auto data = TRY(read_verified(ObjectType::kTree, digest));
  return Tree::parse(data).context("tree " + digest.hex());
}

Result<Commit> ObjectStore::read_commit(const Digest& digest) const {
  auto data = TRY(read_verified(ObjectType::kCommit, digest));
  return Commit::parse(data).context("commit " + digest.hex());
}

Result<UniqueFd> ObjectStore::open_file(const Digest& digest) const {
  auto fd = env_->open_for_reading(object_path(ObjectType::kFile, digest));
  if (!fd.ok() && fd.error().code == ErrorCode::kNotFound)
    return make_error(ErrorCode::kCorruption, "missing file object " + digest.hex());
  return fd;
}

std::vector<Digest> ObjectStore::find_commits(std::string_view prefix, size_t limit) const {
  std::vector<Digest> found;
  if (prefix.size() < 2 || !is_hex(prefix)) return found;
  std::string lower;
  for (char c : prefix) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto names = env_->list_dir(objects_dir() + "/" + lower.substr(0, 2));
  if (!names.ok()) return found;
  for (const std::string& name : *names) {
    if (name.size() != 62 + 7 || name.substr(62) != ".commit") continue;
    std::string hex = lower.substr(0, 2) + name.substr(0, 62);
    if (hex.compare(0, lower.size(), lower) != 0) continue;
    if (auto digest = Digest::from_hex(hex)) found.push_back(*digest);
    if (found.size() >= limit) break;
  }
  return found;
}

void remove_tree(const std::string& path) {
  ::nftw(
      path.c_str(),
      [](const char* fpath, const struct stat*, int, struct FTW*) {
        ::remove(fpath);
        return 0;
      },
      16, FTW_DEPTH | FTW_PHYS);
}

Transaction::Transaction(ObjectStore* store) : store_(store) {}

Transaction::~Transaction() {
  if (!tmp_dir_.empty()) remove_tree(tmp_dir_);
}

Status Transaction::begin() {
  std::random_device random;
  tmp_dir_ = store_->dir_ + "/tmp/txn-" + std::to_string(::getpid()) + "-" +
             std::to_string(random());
  TRY(store_->env_->create_dir(store_->dir_ + "/tmp"));
  return store_->env_->create_dir(tmp_dir_);
}

Status Transaction::stage(ObjectType type, const Digest& digest, const std::string& temporary) {
  std::lock_guard lock(mutex_);
  auto& staged = staged_[static_cast<int>(type)];
  if (staged.count(digest) || store_->has(type, digest)) {
    // A duplicate: its temporary goes with the transaction's directory if
    // this fails.
    (void)store_->env_->remove_file(temporary);
    return {};
  }
  staged.insert(digest);
  renames_.emplace_back(temporary, store_->object_path(type, digest));
  ++objects_written_;
  return {};
}

Result<Digest> Transaction::add_bytes(ObjectType type, std::string_view data) {
  Digest digest = Sha256::of(data);
  {
    std::lock_guard lock(mutex_);
    if (staged_[static_cast<int>(type)].count(digest) || store_->has(type, digest)) return digest;
  }
  std::string temporary = tmp_dir_ + "/" + std::to_string(counter_++);
  auto file = TRY(store_->env_->new_writable_file(temporary));
  TRY(file->append(data));
  TRY(file->close());
  bytes_written_ += data.size();
  TRY(stage(type, digest, temporary));
  return digest;
}

Result<Digest> Transaction::add_file(int fd, const std::string& display_path, uint64_t* length) {
  return add_stream(
      [&](char* buffer, size_t capacity) -> Result<size_t> {
        for (;;) {
          ssize_t n = ::read(fd, buffer, capacity);
          if (n >= 0) return static_cast<size_t>(n);
          if (errno != EINTR) return errno_error("reading " + display_path, errno);
        }
      },
      length);
}

Result<Digest> Transaction::add_stream(const Reader& read, uint64_t* length) {
  std::string temporary = tmp_dir_ + "/" + std::to_string(counter_++);
  auto file = TRY(store_->env_->new_writable_file(temporary));
  Sha256 hasher;
  static thread_local std::string buffer(1 << 18, '\0');
  uint64_t total = 0;
  for (;;) {
    size_t n = TRY(read(buffer.data(), buffer.size()));
    if (n == 0) break;
    hasher.update(buffer.data(), n);
    TRY(file->append(std::string_view(buffer.data(), n)));
    total += n;
  }
  file->start_writeback();
  TRY(file->close());
  bytes_written_ += total;
  *length = total;
  Digest digest = hasher.finish();
  TRY(stage(ObjectType::kFile, digest, temporary));
  return digest;
}

Status Transaction::commit() {
  Env* env = store_->env_;
  // One syncfs makes every staged object's data durable before any of them
  // becomes visible under its name.
  TRY(env->sync_filesystem(tmp_dir_));
  for (const auto& [temporary, final_path] : renames_) {
    Status renamed = env->rename(temporary, final_path);
    if (!renamed.ok() && renamed.error().code == ErrorCode::kNotFound) {
      TRY(env->create_dir(dirname_of(final_path)));
      renamed = env->rename(temporary, final_path);
    }
    TRY(std::move(renamed));
  }
  TRY(env->sync_filesystem(store_->objects_dir()));
  committed_ = true;
  return {};
}

}  // namespace goldroot

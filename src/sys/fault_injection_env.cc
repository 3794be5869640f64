#include "sys/fault_injection_env.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace goldroot {

namespace {

class FaultFile : public WritableFile {
 public:
  FaultFile(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status append(std::string_view data) override {
    TRY(env_->count_operation());
    TRY(base_->append(data));
    env_->file_grew(path_, base_->size());
    return {};
  }
  Status sync() override {
    TRY(env_->count_operation());
    env_->file_synced(path_, base_->size());
    return {};
  }
  Status close() override { return base_->close(); }
  uint64_t size() const override { return base_->size(); }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

bool in_dir(const std::string& path, const std::string& dir) {
  return dirname_of(path) == dir;
}

}  // namespace

void FaultInjectionEnv::crash_after(int64_t operations) {
  std::lock_guard lock(mutex_);
  operations_left_ = operations;
  crashed_ = false;
}

bool FaultInjectionEnv::crashed() const {
  std::lock_guard lock(mutex_);
  return crashed_;
}

int64_t FaultInjectionEnv::operation_count() const {
  std::lock_guard lock(mutex_);
  return operations_;
}

Status FaultInjectionEnv::count_operation() {
  std::lock_guard lock(mutex_);
  ++operations_;
  if (crashed_) return make_error(ErrorCode::kIo, "simulated crash");
  if (operations_left_ == 0) {
    crashed_ = true;
    return make_error(ErrorCode::kIo, "simulated crash");
  }
  if (operations_left_ > 0) --operations_left_;
  return {};
}

void FaultInjectionEnv::file_synced(const std::string& path, uint64_t size) {
  std::lock_guard lock(mutex_);
  files_[path].synced_size = size;
}

void FaultInjectionEnv::file_grew(const std::string& path, uint64_t size) {
  std::lock_guard lock(mutex_);
  files_[path].size = size;
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::new_writable_file(
    const std::string& path) {
  TRY(count_operation());
  // A file that existed before we saw it is durable as an entry (asked
  // before creating it, which would make every file look old); its data is
  // truncated by O_TRUNC, and that truncation is unsynced too.
  bool existed_untracked = base_->exists(path);
  auto base = TRY(base_->new_writable_file(path));
  {
    std::lock_guard lock(mutex_);
    auto existing = files_.find(path);
    bool durable = existing == files_.end() ? existed_untracked : existing->second.entry_durable;
    files_[path] = FileState{0, 0, durable};
  }
  return std::unique_ptr<WritableFile>(new FaultFile(this, path, std::move(base)));
}

Status FaultInjectionEnv::rename(const std::string& from, const std::string& to) {
  TRY(count_operation());
  std::optional<std::string> previous;
  {
    std::lock_guard lock(mutex_);
    auto target = files_.find(to);
    bool target_untracked_or_durable = target == files_.end() || target->second.entry_durable;
    if (target_untracked_or_durable && base_->exists(to)) {
      auto contents = base_->read_file(to);
      if (contents.ok()) previous = std::move(contents).value();
    }
  }
  // A file written outside this env: its data survives only if a sync
  // covered it.
  FileState outside{0, 0, true};
  struct stat st;
  if (::stat(from.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    outside.size = static_cast<uint64_t>(st.st_size);
    std::lock_guard lock(mutex_);
    bool before_syncfs = st.st_mtim.tv_sec < filesystem_synced_at_.tv_sec ||
                         (st.st_mtim.tv_sec == filesystem_synced_at_.tv_sec &&
                          st.st_mtim.tv_nsec <= filesystem_synced_at_.tv_nsec);
    outside.synced_size = before_syncfs ? outside.size : 0;
  }
  TRY(base_->rename(from, to));
  std::lock_guard lock(mutex_);
  FileState state = files_.count(from) ? files_[from] : outside;
  files_.erase(from);
  bool source_durable = state.entry_durable;
  state.entry_durable = false;
  files_[to] = state;
  renames_.push_back({from, to, std::move(previous), source_durable});
  return {};
}

Status FaultInjectionEnv::remove_file(const std::string& path) {
  TRY(count_operation());
  TRY(base_->remove_file(path));
  std::lock_guard lock(mutex_);
  files_.erase(path);
  return {};
}

Status FaultInjectionEnv::create_dir(const std::string& path) {
  TRY(count_operation());
  return base_->create_dir(path);
}

Status FaultInjectionEnv::sync_dir(const std::string& path) {
  TRY(count_operation());
  std::lock_guard lock(mutex_);
  for (auto& [name, state] : files_)
    if (in_dir(name, path)) state.entry_durable = true;
  std::erase_if(renames_, [&](const PendingRename& r) { return in_dir(r.to, path); });
  return {};
}

Status FaultInjectionEnv::sync_filesystem(const std::string& path) {
  TRY(count_operation());
  std::lock_guard lock(mutex_);
  for (auto& [name, state] : files_) {
    state.entry_durable = true;
    state.synced_size = state.size;
  }
  renames_.clear();
  ::clock_gettime(CLOCK_REALTIME, &filesystem_synced_at_);
  return {};
}

Status FaultInjectionEnv::sync_file(const std::string& path) {
  TRY(count_operation());
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno_error("syncing " + path, errno);
  std::lock_guard lock(mutex_);
  auto found = files_.find(path);
  // A file this env never saw existed before: its entry is durable.
  FileState& state = files_[path];
  if (found == files_.end()) state.entry_durable = true;
  state.size = state.synced_size = static_cast<uint64_t>(st.st_size);
  return {};
}

Status FaultInjectionEnv::copy_file(const std::string& from, const std::string& to) {
  TRY(count_operation());
  TRY(base_->copy_file(from, to));
  struct stat st;
  if (::stat(to.c_str(), &st) != 0) return errno_error("copying to " + to, errno);
  std::lock_guard lock(mutex_);
  files_[to] = FileState{static_cast<uint64_t>(st.st_size), 0, false};
  return {};
}

Status FaultInjectionEnv::drop_unsynced_data(Entries entries) {
  std::lock_guard lock(mutex_);
  if (entries == Entries::kKeep) {
    renames_.clear();
    for (auto& [path, state] : files_) state.entry_durable = true;
  }
  // Undo renames newest first, so each file returns to the name it had.
  for (auto it = renames_.rbegin(); it != renames_.rend(); ++it) {
    if (::rename(it->to.c_str(), it->from.c_str()) != 0 && errno != ENOENT)
      return errno_error("undoing rename of " + it->to, errno);
    auto state = files_.find(it->to);
    if (state != files_.end()) {
      // The source's name was as durable as it was before the rename.
      FileState restored = state->second;
      restored.entry_durable = it->source_durable;
      files_[it->from] = restored;
      files_.erase(state);
    }
    if (it->previous_target) {
      auto file = TRY(base_->new_writable_file(it->to));
      TRY(file->append(*it->previous_target));
      TRY(file->sync());
      TRY(file->close());
    }
  }
  renames_.clear();
  for (auto& [path, state] : files_) {
    if (!state.entry_durable) {
      ::unlink(path.c_str());
    } else if (state.size > state.synced_size) {
      if (::truncate(path.c_str(), static_cast<off_t>(state.synced_size)) != 0 && errno != ENOENT)
        return errno_error("truncating " + path, errno);
    }
  }
  files_.clear();
  crashed_ = false;
  operations_left_ = -1;
  return {};
}

}  // namespace goldroot

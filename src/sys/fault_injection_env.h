// FaultInjectionEnv wraps a real Env and remembers what a power cut would
// lose (LevelDB's fault_injection_test.cc):
//  - file data written but not yet fsynced;
//  - directory entries (new files, renames) not yet made durable by an fsync
//    of their directory or a syncfs.
// drop_unsynced_data() rewinds the real filesystem to what would have
// survived: either without the unsynced entries, or — the harsher case for
// data — with them, but holding only what was synced (the zero-length file
// after a crash). crash_after(n) lets n more mutating calls through and fails every
// later one, as if the process died at that point.
//
// Durability is simulated: syncs are recorded, not passed to the real
// filesystem (drop_unsynced_data decides what survives). Files written
// without this env (by a tool, or a writer of their own) are tracked from
// their first sync_file, copy_file or rename.
//
// Thread-safe.
#pragma once

#include <time.h>

#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "sys/env.h"

namespace goldroot {

class FaultInjectionEnv : public Env {
 public:
  explicit FaultInjectionEnv(Env* base) : base_(base) {}

  void crash_after(int64_t operations);
  bool crashed() const;
  // Mutating calls seen so far (to choose crash points).
  int64_t operation_count() const;
  // What survives a power cut of unsynced directory entries varies; test both.
  enum class Entries {
    kDrop,  // unsynced creations and renames are undone
    kKeep,  // they persist, but their unsynced data is still lost
  };
  // Rewinds unsynced data (and entries, per `entries`). Call after the code
  // under test stopped.
  Status drop_unsynced_data(Entries entries = Entries::kDrop);

  Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove_file(const std::string& path) override;
  Status create_dir(const std::string& path) override;
  Status sync_dir(const std::string& path) override;
  Status sync_filesystem(const std::string& path) override;
  Status sync_file(const std::string& path) override;
  Status copy_file(const std::string& from, const std::string& to) override;
  Result<std::string> read_file(const std::string& path) override { return base_->read_file(path); }
  Result<UniqueFd> open_for_reading(const std::string& path) override {
    return base_->open_for_reading(path);
  }
  bool exists(const std::string& path) override { return base_->exists(path); }
  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    return base_->list_dir(path);
  }
  int64_t now_seconds() override { return base_->now_seconds(); }

  // Called by the files this env hands out.
  void file_synced(const std::string& path, uint64_t size);
  void file_grew(const std::string& path, uint64_t size);
  Status count_operation();

 private:
  struct FileState {
    uint64_t size = 0;
    uint64_t synced_size = 0;
    bool entry_durable = false;
  };
  struct PendingRename {
    std::string from, to;
    std::optional<std::string> previous_target;  // contents `to` held before
    bool source_durable = false;                 // `from`'s entry, before the rename
  };

  Env* base_;
  mutable std::mutex mutex_;
  std::map<std::string, FileState> files_;
  std::vector<PendingRename> renames_;
  // When the last sync_filesystem ran: a file other code wrote (one this
  // env did not create) counts as synced when it is renamed only if it was
  // last modified before then, or was synced with sync_file.
  struct timespec filesystem_synced_at_ {};
  int64_t operations_left_ = -1;  // -1: never crash
  bool crashed_ = false;
  int64_t operations_ = 0;
};

}  // namespace goldroot

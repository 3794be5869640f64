// Env is goldroot's one narrow seam to the operating system for everything
// whose durability matters: creating, syncing, renaming and removing files in
// the store and site (LevelDB's Env). main() makes a PosixEnv and passes it
// down; tests swap in FaultInjectionEnv to prove crash-safety claims.
//
// Reading trees that are imported or checked out goes straight to the kernel
// (openat and friends): only the store's own state needs the seam.
//
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace goldroot {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status append(std::string_view data) = 0;
  virtual Status sync() = 0;
  // Starts writing the data back without waiting (sync_file_range), so a
  // later sync finds less to do. Durability still needs sync() or a syncfs.
  virtual void start_writeback() {}
  virtual Status close() = 0;
  virtual uint64_t size() const = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // Creates or truncates `path` for writing (mode 0644).
  virtual Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path) = 0;
  // Atomically replaces `to` with `from` (rename(2)).
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  virtual Status remove_file(const std::string& path) = 0;
  // Creates a directory; an existing one is fine.
  virtual Status create_dir(const std::string& path) = 0;
  // Makes the entries of directory `path` durable (fsync on the directory).
  virtual Status sync_dir(const std::string& path) = 0;
  // Makes everything on the filesystem holding `path` durable (syncfs(2)).
  virtual Status sync_filesystem(const std::string& path) = 0;
  // Makes the data of the file at `path` durable (fsync), for files other
  // code wrote (a tool, a cpio or EROFS writer, a streamed upload).
  virtual Status sync_file(const std::string& path) = 0;
  // Copies `from` to a new file `to` (copy_file_range: a reflink or an
  // in-kernel copy where the filesystem can); `to` is not synced.
  virtual Status copy_file(const std::string& from, const std::string& to) = 0;

  virtual Result<std::string> read_file(const std::string& path) = 0;
  // Opens a file read-only (kNotFound when it is missing).
  virtual Result<UniqueFd> open_for_reading(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  virtual int64_t now_seconds() = 0;

  // The one way goldroot puts a file under its final name, so a crash at
  // any point leaves either the old file (or none) or the whole new one,
  // never a truncated file under the name readers trust:

  // Writes `data` to `path` durably and atomically: a temporary file beside
  // it, fsync, rename over, fsync of the directory (LevelDB SetCurrentFile).
  Status write_file_atomic(const std::string& path, std::string_view data);
  // Gives the finished file `temporary` (in the same directory) its final
  // name: fsync it, rename it over `path`, fsync the directory. On failure
  // `temporary` is removed.
  Status publish_file(const std::string& temporary, const std::string& path);
  // Copies `from` to `to` as atomically and durably (copy_file, then
  // publish_file).
  Status copy_file_atomic(const std::string& from, const std::string& to);
};

class PosixEnv : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove_file(const std::string& path) override;
  Status create_dir(const std::string& path) override;
  Status sync_dir(const std::string& path) override;
  Status sync_filesystem(const std::string& path) override;
  Status sync_file(const std::string& path) override;
  Status copy_file(const std::string& from, const std::string& to) override;
  Result<std::string> read_file(const std::string& path) override;
  Result<UniqueFd> open_for_reading(const std::string& path) override;
  bool exists(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
  int64_t now_seconds() override;
};

// Helpers on plain paths that need no seam.
// Reads a whole file that must not be a symlink (ELOOP if it is): sources
// read from trees a user controls, such as SITE/layers.
Result<std::string> read_file_no_follow(const std::string& path);
std::string dirname_of(const std::string& path);
std::string basename_of(const std::string& path);
std::string join_path(const std::string& a, const std::string& b);

}  // namespace goldroot

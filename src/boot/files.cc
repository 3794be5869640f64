#include "boot/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sys/env.h"

namespace goldroot::boot {

Result<std::string> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_error("open " + path, errno);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Status write_file_atomically(const std::string& path, const std::string& text) {
  // The one durable-write path (temp, fsync, rename, fsync the directory).
  PosixEnv env;
  return env.write_file_atomic(path, text);
}

Status make_directory(const std::string& path, std::optional<mode_t> mode) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return make_error(ErrorCode::kIo, "mkdir " + path + ": " + error.message());
  if (mode) ::chmod(path.c_str(), *mode);
  return ok_status();
}

Status empty_directory(const std::string& path, const std::string& keep) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
    if (!keep.empty() && entry.path().filename() == keep) continue;
    std::filesystem::remove_all(entry.path(), error);
    if (error) return make_error(ErrorCode::kIo, "emptying " + path + ": " + error.message());
  }
  if (error) return make_error(ErrorCode::kIo, "reading " + path + ": " + error.message());
  return ok_status();
}

}  // namespace goldroot::boot

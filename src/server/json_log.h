// JsonLog: an append-only log of one JSON object per line — the access log
// and the admin audit log. Each line is one write(2) under a mutex on a
// file opened O_APPEND, so lines from several threads (or processes) never
// interleave. A full disk loses lines, never the server.
//
// Owns its file descriptor. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace goldroot::server {

class JsonLog {
 public:
  // Appends to `path`, creating it with `mode`.
  static Result<std::unique_ptr<JsonLog>> open(const std::string& path, int mode = 0640);
  // Writes to an fd the caller hands over (e.g. a dup of stderr).
  explicit JsonLog(UniqueFd fd) : fd_(std::move(fd)) {}

  // Writes `line` (strings with invalid UTF-8 get U+FFFD) and a newline.
  void append(const nlohmann::json& line);

 private:
  std::mutex mutex_;
  UniqueFd fd_;
};

// "2026-11-22T00:37:00.123Z"
std::string iso_time_now();

}  // namespace goldroot::server

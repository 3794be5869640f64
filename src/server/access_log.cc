#include "server/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

namespace goldroot::server {

namespace {

std::string iso_time_now() {
  auto now = std::chrono::system_clock::now();
  auto milliseconds =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(milliseconds / 1000);
  std::tm parts;
  ::gmtime_r(&seconds, &parts);
  char text[48];
  size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &parts);
  std::snprintf(text + length, sizeof text - length, ".%03dZ",
                static_cast<int>(milliseconds % 1000));
  return text;
}

}  // namespace

Result<std::unique_ptr<AccessLog>> AccessLog::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd.valid()) return errno_error("opening access log " + path, errno);
  return std::make_unique<AccessLog>(std::move(fd));
}

void AccessLog::record(const AccessRecord& record) {
  nlohmann::json line = {
      {"time", iso_time_now()},
      {"client", record.client},
      {"method", record.method},
      {"path", record.path},
      {"status", record.status},
      {"bytes", record.bytes},
      {"duration_ms", static_cast<double>(static_cast<int64_t>(record.duration_ms * 1000)) / 1000},
  };
  if (record.aborted) line["aborted"] = true;
  // Paths come from clients: replace invalid UTF-8 instead of throwing.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(mutex_);
  size_t written = 0;
  while (written < text.size()) {
    ssize_t result = ::write(fd_.get(), text.data() + written, text.size() - written);
    if (result < 0 && errno == EINTR) continue;
    if (result <= 0) return;  // a full disk must not take the server down with it
    written += static_cast<size_t>(result);
  }
}

}  // namespace goldroot::server

#include "server/access_log.h"

#include <fcntl.h>

#include <cerrno>
#include <cstdint>

namespace goldroot::server {

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
  if (!record.range.empty()) line["range"] = record.range;
  if (record.fill) {
    line["fill"] = true;
    line["held_ms"] = static_cast<double>(static_cast<int64_t>(record.held_ms * 1000)) / 1000;
  }
  if (!record.failure.empty()) line["failure"] = record.failure;
  log_.append(line);
}

}  // namespace goldroot::server

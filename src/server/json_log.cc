#include "server/json_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>

namespace goldroot::server {

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

Result<std::unique_ptr<JsonLog>> JsonLog::open(const std::string& path, int mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                     static_cast<mode_t>(mode)));
  if (!fd.valid()) return errno_error("opening log " + path, errno);
  return std::make_unique<JsonLog>(std::move(fd));
}

void JsonLog::append(const nlohmann::json& line) {
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(mutex_);
  size_t written = 0;
  while (written < text.size()) {
    ssize_t result = ::write(fd_.get(), text.data() + written, text.size() - written);
    if (result < 0 && errno == EINTR) continue;
    if (result <= 0) return;
    written += static_cast<size_t>(result);
  }
}

}  // namespace goldroot::server

#include "agent/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/strings.h"
#include "sys/unique_fd.h"

namespace goldroot::agent {

Result<Spool> Spool::open(const std::string& dir, size_t limit) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return make_error(ErrorCode::kIo, "creating the spool " + dir + ": " + error.message());
  ::chmod(dir.c_str(), 0700);
  return Spool(dir, std::max<size_t>(limit, 1));
}

Result<size_t> Spool::add(int64_t sequence, const std::string& body) {
  char name[32];
  std::snprintf(name, sizeof name, "%020lld.json", static_cast<long long>(sequence));
  std::string path = dir_ + "/" + name;
  std::string temporary = dir_ + "/.tmp-" + name;
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return errno_error("spooling a report in " + dir_, errno);
  if (::write(fd.get(), body.data(), body.size()) != static_cast<ssize_t>(body.size()) ||
      ::fsync(fd.get()) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    return errno_error("spooling a report in " + dir_, saved);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0)
    return errno_error("spooling a report in " + dir_, errno);
  std::vector<std::string> names = TRY(pending());
  size_t dropped = 0;
  while (names.size() - dropped > limit_) TRY(remove(names[dropped++]));
  return dropped;
}

Result<std::vector<std::string>> Spool::pending() const {
  DIR* handle = ::opendir(dir_.c_str());
  if (!handle) return errno_error("reading the spool " + dir_, errno);
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(handle)) {
    std::string name = entry->d_name;
    if (name.size() == 25 && ends_with(name, ".json")) names.push_back(name);
  }
  ::closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::string> Spool::read(const std::string& name) const {
  std::ifstream in(dir_ + "/" + name);
  if (!in) return errno_error("reading " + dir_ + "/" + name, errno);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Status Spool::remove(const std::string& name) {
  if (::unlink((dir_ + "/" + name).c_str()) != 0 && errno != ENOENT)
    return errno_error("removing " + dir_ + "/" + name, errno);
  return {};
}

}  // namespace goldroot::agent

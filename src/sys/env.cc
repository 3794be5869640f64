#include "sys/env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "sys/unique_fd.h"

namespace goldroot {

std::string dirname_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string basename_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string join_path(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  if (a.back() == '/') return a + b;
  return a + "/" + b;
}

Status Env::write_file_atomic(const std::string& path, std::string_view data) {
  std::string temporary = path + ".tmp";
  auto file = TRY(new_writable_file(temporary));
  Status written = file->append(data);
  if (written.ok()) written = file->sync();
  if (written.ok()) written = file->close();
  if (written.ok()) written = rename(temporary, path);
  if (!written.ok()) {
    (void)remove_file(temporary);
    return written;
  }
  return sync_dir(dirname_of(path));
}

Status Env::publish_file(const std::string& temporary, const std::string& path) {
  Status published = sync_file(temporary);
  if (published.ok()) published = rename(temporary, path);
  if (!published.ok()) {
    (void)remove_file(temporary);
    return published;
  }
  return sync_dir(dirname_of(path));
}

Status Env::copy_file_atomic(const std::string& from, const std::string& to) {
  std::string temporary = to + ".tmp";
  Status copied = copy_file(from, temporary);
  if (!copied.ok()) {
    (void)remove_file(temporary);
    return copied;
  }
  return publish_file(temporary, to);
}

namespace {

class PosixWritableFile : public WritableFile {
 public:
  PosixWritableFile(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  Status append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t written = ::write(fd_.get(), data.data(), data.size());
      if (written < 0) {
        if (errno == EINTR) continue;
        return errno_error("writing " + path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(written));
      size_ += static_cast<uint64_t>(written);
    }
    return {};
  }
  Status sync() override {
    if (::fdatasync(fd_.get()) != 0) return errno_error("syncing " + path_, errno);
    return {};
  }
  void start_writeback() override {
    if (fd_.valid()) ::sync_file_range(fd_.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
  }
  Status close() override {
    if (fd_.valid() && ::close(fd_.release()) != 0) return errno_error("closing " + path_, errno);
    return {};
  }
  uint64_t size() const override { return size_; }

 private:
  std::string path_;
  UniqueFd fd_;
  uint64_t size_ = 0;
};

}  // namespace

Result<std::unique_ptr<WritableFile>> PosixEnv::new_writable_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_error("creating " + path, errno);
  return std::unique_ptr<WritableFile>(new PosixWritableFile(path, UniqueFd(fd)));
}

Status PosixEnv::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    return errno_error("renaming " + from + " to " + to, errno);
  return {};
}

Status PosixEnv::remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return errno_error("removing " + path, errno);
  return {};
}

Status PosixEnv::create_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return {};
  int error = errno;
  struct stat st;
  if (error == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
  if (error == EEXIST)
    return make_error(ErrorCode::kAlreadyExists,
                      "creating directory " + path + ": something that is not a directory is in the way");
  return errno_error("creating directory " + path, error);
}

Status PosixEnv::sync_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("opening " + path, errno);
  if (::fsync(fd.get()) != 0) return errno_error("syncing " + path, errno);
  return {};
}

Status PosixEnv::sync_filesystem(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("opening " + path, errno);
  if (::syncfs(fd.get()) != 0) return errno_error("syncing the filesystem of " + path, errno);
  return {};
}

Result<UniqueFd> PosixEnv::open_for_reading(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("opening " + path, errno);
  return fd;
}

Status PosixEnv::sync_file(const std::string& path) {
  UniqueFd fd = TRY(open_for_reading(path));
  if (::fsync(fd.get()) != 0) return errno_error("syncing " + path, errno);
  return {};
}

Status PosixEnv::copy_file(const std::string& from, const std::string& to) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return errno_error("reading " + from, errno);
  struct stat st;
  if (::fstat(in.get(), &st) != 0) return errno_error("reading " + from, errno);
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out.valid()) return errno_error("creating " + to, errno);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  for (uint64_t copied = 0; copied < size;) {
    ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, size - copied, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_error("copying " + from + " to " + to, n < 0 ? errno : EIO);
    copied += static_cast<uint64_t>(n);
  }
  return {};
}

namespace {

Result<std::string> read_whole_file(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | flags));
  if (!fd.valid()) return errno_error("reading " + path, errno);
  std::string data;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("reading " + path, errno);
    }
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

}  // namespace

Result<std::string> PosixEnv::read_file(const std::string& path) {
  return read_whole_file(path, 0);
}

Result<std::string> read_file_no_follow(const std::string& path) {
  return read_whole_file(path, O_NOFOLLOW);
}

bool PosixEnv::exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Result<std::vector<std::string>> PosixEnv::list_dir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (!dir) return errno_error("listing " + path, errno);
  std::vector<std::string> names;
  while (struct dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

int64_t PosixEnv::now_seconds() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace goldroot

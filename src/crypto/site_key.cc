#include "crypto/site_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>

#include "sys/unique_fd.h"

namespace goldroot {

namespace {

constexpr const char* kPrivateName = "site.key";
constexpr const char* kPublicName = "site.pub";

Result<std::string> read_small_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("opening " + path, errno);
  std::string contents;
  char buffer[4096];
  while (true) {
    ssize_t count = ::read(fd.get(), buffer, sizeof buffer);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) return errno_error("reading " + path, errno);
    if (count == 0) return contents;
    contents.append(buffer, static_cast<size_t>(count));
  }
}

// Writes `contents` to `path` with `mode` unless `path` exists. Returns
// kAlreadyExists if it did (the existing file is kept).
Status write_new_file(const std::string& path, const std::string& contents, mode_t mode) {
  std::string temporary = path + ".tmp." + std::to_string(::getpid());
  ::unlink(temporary.c_str());
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) return errno_error("creating " + temporary, errno);
  ::fchmod(fd.get(), mode);  // the umask must not widen or narrow it
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t count = ::write(fd.get(), contents.data() + written, contents.size() - written);
    if (count < 0 && errno == EINTR) continue;
    if (count < 0) {
      int saved = errno;
      ::unlink(temporary.c_str());
      return errno_error("writing " + temporary, saved);
    }
    written += static_cast<size_t>(count);
  }
  if (::fsync(fd.get()) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    return errno_error("syncing " + temporary, saved);
  }
  int linked = ::link(temporary.c_str(), path.c_str());
  int saved = errno;
  ::unlink(temporary.c_str());
  if (linked != 0) {
    if (saved == EEXIST) return make_error(ErrorCode::kAlreadyExists, path + " exists");
    return errno_error("installing " + path, saved);
  }
  size_t slash = path.find_last_of('/');
  UniqueFd directory(::open(slash == std::string::npos ? "." : path.substr(0, slash).c_str(),
                            O_RDONLY | O_CLOEXEC));
  if (directory.valid() && ::fsync(directory.get()) != 0)
    return errno_error("syncing directory of " + path, errno);
  return {};
}

}  // namespace

Status ensure_site_key(const std::string& keys_dir) {
  std::string private_path = keys_dir + "/" + kPrivateName;
  std::string public_path = keys_dir + "/" + kPublicName;
  if (::access(private_path.c_str(), F_OK) != 0) {
    SigningKey fresh = TRY(SigningKey::generate());
    Status written = write_new_file(private_path, fresh.to_pem(), 0600);
    if (!written.ok() && written.error().code != ErrorCode::kAlreadyExists) return written;
  }
  SigningKey key = TRY(load_site_key(keys_dir));
  if (::access(public_path.c_str(), F_OK) != 0) {
    Status written = write_new_file(public_path, key.public_key().to_pem(), 0644);
    if (!written.ok() && written.error().code != ErrorCode::kAlreadyExists) return written;
  }
  VerifyKey published = TRY(load_site_public_key(keys_dir));
  if (!(published == key.public_key()))
    return make_error(ErrorCode::kCorruption,
                      public_path + " does not match " + private_path +
                          "; restore the pair from backup or remove site.pub to rewrite it");
  return {};
}

Result<SigningKey> load_site_key(const std::string& keys_dir) {
  std::string path = keys_dir + "/" + kPrivateName;
  std::string pem = TRY(read_small_file(path));
  return std::move(SigningKey::from_pem(pem)).context(path);
}

Result<VerifyKey> load_site_public_key(const std::string& keys_dir) {
  std::string path = keys_dir + "/" + kPublicName;
  std::string pem = TRY(read_small_file(path));
  return std::move(VerifyKey::from_pem(pem)).context(path);
}

}  // namespace goldroot

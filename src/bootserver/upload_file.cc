#include "bootserver/upload_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "bootserver/boot_service.h"
#include "sys/env.h"

namespace goldroot {

Result<std::unique_ptr<UploadFile>> UploadFile::create(const std::string& path,
                                                       uint64_t max_bytes) {
  std::string part = path + ".part";
  UniqueFd fd(::open(part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    if (errno == EEXIST)
      return make_error(ErrorCode::kAlreadyExists, "an upload to " + path + " is in progress");
    return errno_error("creating " + part, errno);
  }
  return std::unique_ptr<UploadFile>(new UploadFile(path, std::move(fd), max_bytes));
}

UploadFile::~UploadFile() {
  if (!finished_) ::unlink(part().c_str());
}

Status UploadFile::write(std::string_view data) {
  if (data.size() > max_bytes_ - bytes_)
    return make_error(ErrorCode::kInvalidArgument,
                      "the upload is larger than the site's upload-max of " +
                          human_bytes(max_bytes_) + "; raise it with 'goldroot site set upload-max=SIZE'");
  sha256_.update(data);
  bytes_ += data.size();
  while (!data.empty()) {
    ssize_t written = ::write(fd_.get(), data.data(), data.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) return errno_error("writing the upload " + part(), errno);
    data.remove_prefix(static_cast<size_t>(written));
  }
  return {};
}

server::HttpResponse UploadFile::finish() {
  fd_.reset();
  // Synced, renamed and its directory synced; the part is removed on failure.
  finished_ = true;
  Status published = PosixEnv().publish_file(part(), path_);
  if (!published.ok())
    return json_error(published.error().code == ErrorCode::kNoSpace ? 507 : 500,
                      published.error().message);
  nlohmann::json answer = {{"sha256", sha256_.finish().hex()}, {"bytes", bytes_}};
  return server::HttpResponse::json(200, answer.dump() + "\n")
      .with_cache(server::CachePolicy::kNoStore);
}

}  // namespace goldroot

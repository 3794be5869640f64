// UploadFile: the sink (server/router.h) that puts an uploaded body on
// disk as `path`, durably and only whole: the bytes go to `path`.part
// (created exclusively, so two uploads of one name cannot interleave),
// hashed with SHA-256 as they arrive; finish() fsyncs, renames it to
// `path`, fsyncs the directory, and answers {"sha256": …, "bytes": N}. Cut
// off — the client vanished, the disk filled — it removes the part file.
// A full disk is kNoSpace (the server answers 507) naming the file; a body
// beyond `max_bytes` (the site's upload-max) is cut off as kInvalidArgument
// (413).
//
// Owns its file; used by one connection at a time.
#pragma once

#include <memory>
#include <string>

#include "base/hash.h"
#include "server/router.h"
#include "sys/unique_fd.h"

namespace goldroot {

class UploadFile : public server::UploadSink {
 public:
  // kAlreadyExists when another upload of `path` is in progress.
  static Result<std::unique_ptr<UploadFile>> create(const std::string& path, uint64_t max_bytes);
  ~UploadFile() override;

  Status write(std::string_view data) override;
  server::HttpResponse finish() override;

 private:
  UploadFile(std::string path, UniqueFd fd, uint64_t max_bytes)
      : path_(std::move(path)), fd_(std::move(fd)), max_bytes_(max_bytes) {}
  std::string part() const { return path_ + ".part"; }

  std::string path_;
  UniqueFd fd_;
  Sha256 sha256_;
  uint64_t max_bytes_;
  uint64_t bytes_ = 0;
  bool finished_ = false;
};

}  // namespace goldroot

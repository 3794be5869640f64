// StaticFiles: a route handler that serves the regular files beneath one
// directory, for URLs under a prefix ("/files/a/b" → DIR/a/b).
//
// Files are opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so
// neither ".." nor a symlink can leave the directory even if a path got past
// request-path checking. Directories, devices and FIFOs are 404. The ETag is
// strong and cheap — inode, size and mtime in nanoseconds — unless the
// content is addressed by digest (kImmutable), where the file name is the
// digest and is used as the ETag.
//
// Holds the directory open for its lifetime. Thread-safe (stateless after
// construction; shared by all workers).
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "server/router.h"
#include "sys/unique_fd.h"

namespace goldroot::server {

// Whether a symlink beneath the directory may be followed (staying beneath
// it), or refuses the request (404).
enum class Symlinks { kFollowBeneath, kRefuse };

class StaticFiles {
 public:
  static Result<std::shared_ptr<StaticFiles>> open(const std::string& directory,
                                                   std::string url_prefix,
                                                   CachePolicy cache = CachePolicy::kNone,
                                                   Symlinks symlinks = Symlinks::kFollowBeneath);
  HttpResponse serve(const HttpRequest& request) const;
  // A Handler that keeps this object alive.
  static Handler handler(std::shared_ptr<StaticFiles> files);

 private:
  StaticFiles(UniqueFd directory, std::string url_prefix, CachePolicy cache, Symlinks symlinks)
      : directory_(std::move(directory)),
        url_prefix_(std::move(url_prefix)),
        cache_(cache),
        symlinks_(symlinks) {}

  UniqueFd directory_;
  std::string url_prefix_;
  CachePolicy cache_;
  Symlinks symlinks_;
};

// "application/octet-stream" unless the extension says otherwise
// (.ipxe, .txt → text/plain; .json; .html).
std::string content_type_for(const std::string& path);

}  // namespace goldroot::server

#include "server/static_files.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "base/strings.h"

namespace goldroot::server {

namespace {

int open_beneath(int directory, const std::string& relative, Symlinks symlinks) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  if (symlinks == Symlinks::kRefuse) how.resolve |= RESOLVE_NO_SYMLINKS;
  return static_cast<int>(::syscall(SYS_openat2, directory, relative.c_str(), &how, sizeof how));
}

}  // namespace

std::string content_type_for(const std::string& path) {
  if (ends_with(path, ".ipxe") || ends_with(path, ".txt")) return "text/plain; charset=utf-8";
  if (ends_with(path, ".json")) return "application/json";
  if (ends_with(path, ".html")) return "text/html; charset=utf-8";
  return "application/octet-stream";
}

Result<std::shared_ptr<StaticFiles>> StaticFiles::open(const std::string& directory,
                                                       std::string url_prefix, CachePolicy cache,
                                                       Symlinks symlinks) {
  UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno_error("opening " + directory, errno);
  if (url_prefix.empty() || url_prefix.back() != '/') url_prefix.push_back('/');
  return std::shared_ptr<StaticFiles>(new StaticFiles(std::move(fd), std::move(url_prefix), cache, symlinks));
}

Handler StaticFiles::handler(std::shared_ptr<StaticFiles> files) {
  return [files = std::move(files)](const HttpRequest& request) { return files->serve(request); };
}

HttpResponse StaticFiles::serve(const HttpRequest& request) const {
  if (request.method != "GET" && request.method != "HEAD")
    return HttpResponse::error(405).with_header("Allow", "GET, HEAD");
  if (!starts_with(request.path, url_prefix_)) return HttpResponse::error(404);
  std::string relative = request.path.substr(url_prefix_.size());
  if (relative.empty() || relative.back() == '/') return HttpResponse::error(404);

  UniqueFd fd(open_beneath(directory_.get(), relative, symlinks_));
  if (!fd.valid()) return HttpResponse::error(errno == EACCES ? 403 : 404);
  struct stat status;
  if (::fstat(fd.get(), &status) != 0 || !S_ISREG(status.st_mode)) return HttpResponse::error(404);

  HttpResponse response = HttpResponse::file(std::move(fd), static_cast<uint64_t>(status.st_size),
                                             content_type_for(relative));
  if (cache_ == CachePolicy::kImmutable) {
    std::string name = relative.substr(relative.rfind('/') + 1);
    response.with_etag(name.substr(0, name.find('.')));
  } else {
    char tag[80];
    std::snprintf(tag, sizeof tag, "%llx-%llx-%llx", static_cast<unsigned long long>(status.st_ino),
                  static_cast<unsigned long long>(status.st_size),
                  static_cast<unsigned long long>(status.st_mtim.tv_sec) * 1000000000ULL +
                      static_cast<unsigned long long>(status.st_mtim.tv_nsec));
    response.with_etag(tag);
  }
  response.with_cache(cache_);
  return response;
}

}  // namespace goldroot::server

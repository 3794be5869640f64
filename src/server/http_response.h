// HttpResponse: what a route handler returns — a status and either an
// in-memory body (iPXE scripts, JSON) or an open file to be sent with
// sendfile(2). The server, not the handler, applies the protocol around it:
// HEAD, Range (206/416), If-None-Match (304), keep-alive and Date.
//
// A response owns its file descriptor; it is move-only. Not thread-safe;
// each request gets its own.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "sys/unique_fd.h"

namespace goldroot::server {

enum class CachePolicy {
  kNone,       // no Cache-Control header
  kNoStore,    // per-host, changing content (iPXE scripts, API): "private, no-store"
  kImmutable,  // content-addressed URLs: "public, max-age=31536000, immutable"
};

class HttpResponse {
 public:
  HttpResponse() = default;
  HttpResponse(HttpResponse&&) = default;
  HttpResponse& operator=(HttpResponse&&) = default;

  // An in-memory body.
  static HttpResponse text(int status, std::string body,
                           std::string content_type = "text/plain; charset=utf-8");
  static HttpResponse json(int status, std::string body);
  // A short plain-text error page such as "404 Not Found".
  static HttpResponse error(int status);
  // A file the handler already opened (at offset 0), `size` bytes long.
  static HttpResponse file(UniqueFd fd, uint64_t size,
                           std::string content_type = "application/octet-stream");
  // Opens `path` (a regular file) read-only; 404 when it is missing.
  static HttpResponse open_file(const std::string& path,
                                std::string content_type = "application/octet-stream");

  // A response that takes a while to make (rendering, building, a database
  // write): `work` runs on the server's blocking pool, off the event loop,
  // and what it returns is sent. If the pool is full the client gets 503.
  static HttpResponse later(std::function<HttpResponse()> work);

  // A strong validator, stored with its quotes. Use the content digest when
  // known, so any cache in front can revalidate across servers.
  HttpResponse& with_etag(std::string opaque_tag) &;
  HttpResponse& with_cache(CachePolicy policy) &;
  HttpResponse& with_header(std::string name, std::string value) &;
  HttpResponse&& with_etag(std::string opaque_tag) && {
    return std::move(with_etag(std::move(opaque_tag)));
  }
  HttpResponse&& with_cache(CachePolicy policy) && { return std::move(with_cache(policy)); }
  HttpResponse&& with_header(std::string name, std::string value) && {
    return std::move(with_header(std::move(name), std::move(value)));
  }

  int status() const { return status_; }
  const std::string& content_type() const { return content_type_; }
  const std::string& etag() const { return etag_; }  // quoted, or empty
  CachePolicy cache() const { return cache_; }
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
  bool has_file() const { return file_.valid(); }
  const std::string& body() const { return body_; }
  int file_fd() const { return file_.get(); }
  // The length of the whole representation, memory or file.
  uint64_t size() const { return has_file() ? file_size_ : body_.size(); }
  UniqueFd take_file() { return std::move(file_); }
  bool deferred() const { return static_cast<bool>(work_); }
  std::function<HttpResponse()> take_work() { return std::move(work_); }

 private:
  int status_ = 200;
  std::string content_type_;
  std::string etag_;
  CachePolicy cache_ = CachePolicy::kNone;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string body_;
  UniqueFd file_;
  uint64_t file_size_ = 0;
  std::function<HttpResponse()> work_;
};

// "Not Found" for 404; "Unknown" for codes goldroot never sends.
const char* status_reason(int status);

}  // namespace goldroot::server

#include "server/http_response.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

namespace goldroot::server {

const char* status_reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

HttpResponse HttpResponse::text(int status, std::string body, std::string content_type) {
  HttpResponse response;
  response.status_ = status;
  response.body_ = std::move(body);
  response.content_type_ = std::move(content_type);
  return response;
}

HttpResponse HttpResponse::json(int status, std::string body) {
  return text(status, std::move(body), "application/json");
}

HttpResponse HttpResponse::later(std::function<HttpResponse()> work) {
  HttpResponse response;
  response.work_ = std::move(work);
  return response;
}

HttpResponse HttpResponse::error(int status) {
  return text(status, std::to_string(status) + " " + status_reason(status) + "\n");
}

HttpResponse HttpResponse::file(UniqueFd fd, uint64_t size, std::string content_type) {
  HttpResponse response;
  response.file_ = std::move(fd);
  response.file_size_ = size;
  response.content_type_ = std::move(content_type);
  return response;
}

HttpResponse HttpResponse::open_file(const std::string& path, std::string content_type) {
  // O_NONBLOCK so that a FIFO planted in the tree cannot hang a worker.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) return error(errno == EACCES ? 403 : 404);
  struct stat status;
  if (::fstat(fd.get(), &status) != 0 || !S_ISREG(status.st_mode)) return error(404);
  return file(std::move(fd), static_cast<uint64_t>(status.st_size), std::move(content_type));
}

HttpResponse& HttpResponse::with_etag(std::string opaque_tag) & {
  etag_ = "\"" + std::move(opaque_tag) + "\"";
  return *this;
}

HttpResponse& HttpResponse::with_cache(CachePolicy policy) & {
  cache_ = policy;
  return *this;
}

HttpResponse& HttpResponse::with_header(std::string name, std::string value) & {
  headers_.emplace_back(std::move(name), std::move(value));
  return *this;
}

}  // namespace goldroot::server

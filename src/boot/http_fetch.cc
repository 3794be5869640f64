#include "boot/http_fetch.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "crypto/curl_tls.h"

namespace goldroot::boot {
namespace {

// Source ports 600-1023: clear of the well-known services below 600 that
// the client might run itself.
constexpr long kPrivilegedPortFirst = 600;

struct CurlFree {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
using CurlHandle = std::unique_ptr<CURL, CurlFree>;
using HeaderList = std::unique_ptr<curl_slist, void (*)(curl_slist*)>;

struct Sink {
  uint64_t limit = 0;
  uint64_t written = 0;
  bool truncated = false;
  bool skip_body = false;  // a 200 to a ranged request: write nothing
  int fd = -1;
  std::string* text = nullptr;
  int write_errno = 0;
  CURL* handle = nullptr;
};

size_t write_callback(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t length = size * count;
  if (sink->skip_body) return CURL_WRITEFUNC_ERROR;
  long status = 0;
  curl_easy_getinfo(sink->handle, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 400) {  // keep a short error body for the message
    if (sink->text && sink->text->size() < 2048) sink->text->append(data, std::min<size_t>(length, 2048));
    return length;
  }
  uint64_t room = sink->limit - sink->written;
  size_t take = length;
  if (take > room) {
    take = static_cast<size_t>(room);
    sink->truncated = true;
  }
  if (sink->fd >= 0) {
    size_t done = 0;
    while (done < take) {
      ssize_t n = ::write(sink->fd, data + done, take - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        sink->write_errno = errno;
        return CURL_WRITEFUNC_ERROR;
      }
      done += static_cast<size_t>(n);
    }
  } else {
    sink->text->append(data, take);
  }
  sink->written += take;
  // Returning less than offered makes curl abort: the cut-off.
  return sink->truncated ? take : length;
}

// The handle owns no header list: `headers` must outlive the transfer.
Result<CurlHandle> make_handle(const std::string& url, Sink* sink, const FetchOptions& options,
                               HeaderList* headers) {
  CurlHandle handle(curl_easy_init());
  if (!handle) return make_error(ErrorCode::kIo, "curl_easy_init failed");
  sink->handle = handle.get();
  curl_easy_setopt(handle.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle.get(), CURLOPT_WRITEFUNCTION, write_callback);
  curl_easy_setopt(handle.get(), CURLOPT_WRITEDATA, sink);
  curl_easy_setopt(handle.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle.get(), CURLOPT_CONNECTTIMEOUT, options.connect_timeout_seconds);
  curl_easy_setopt(handle.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(handle.get(), CURLOPT_LOW_SPEED_TIME, options.stall_timeout_seconds);
  curl_easy_setopt(handle.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(handle.get(), CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(handle.get(), CURLOPT_USERAGENT, "goldroot-boot");
  for (const std::string& header : options.headers)
    headers->reset(curl_slist_append(headers->release(), header.c_str()));
  if (*headers) curl_easy_setopt(handle.get(), CURLOPT_HTTPHEADER, headers->get());
  TRY(use_pinned_tls(handle.get(), url, options.pinned_public_key));
  return handle;
}

// The outcome of a transfer that ended with `code`.
Result<long> judge(CURL* handle, const std::string& url, Sink* sink, CURLcode code,
                   const FetchOptions& options) {
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  if (sink->write_errno) return errno_error("writing " + url, sink->write_errno);
  if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && (sink->truncated || sink->skip_body)))
    return make_error(ErrorCode::kIo, "fetching " + url + ": " + curl_easy_strerror(code));
  if (status >= 400) {
    // The server's JSON error says what to do ("run goldroot channel set …").
    std::string reason;
    if (sink->text) {
      if (options.error_body) *options.error_body = *sink->text;
      auto document = parse_untrusted_json<nlohmann::json>(*sink->text);
      reason = document.is_object() && document.contains("error") && document["error"].is_string()
                   ? document["error"].get<std::string>()
                   : *sink->text;
      reason = reason.substr(0, 400);
      for (char& c : reason)
        if (c == '\n' || c == '\r' || static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    ErrorCode code = status == 404                    ? ErrorCode::kNotFound
                     : status == 401 || status == 403 ? ErrorCode::kPermissionDenied
                     : status == 429                  ? ErrorCode::kBusy
                                                      : ErrorCode::kIo;
    return make_error(code, "fetching " + url + ": HTTP " + std::to_string(status) +
                                (reason.empty() ? "" : ": " + reason));
  }
  return status;
}

Result<long> perform(CURL* handle, const std::string& url, Sink* sink,
                     const FetchOptions& options) {
  return judge(handle, url, sink, curl_easy_perform(handle), options);
}

}  // namespace

void http_global_init() { curl_global_init(CURL_GLOBAL_DEFAULT); }

Result<std::string> fetch_text(const std::string& url, uint64_t limit, const FetchOptions& options) {
  std::string text;
  Sink sink{.limit = limit, .text = &text};
  HeaderList headers(nullptr, curl_slist_free_all);
  CurlHandle handle = TRY(make_handle(url, &sink, options, &headers));
  if (options.privileged_source_port) {
    curl_easy_setopt(handle.get(), CURLOPT_LOCALPORT, kPrivilegedPortFirst);
    curl_easy_setopt(handle.get(), CURLOPT_LOCALPORTRANGE, 1024L - kPrivilegedPortFirst);
    CURLcode code = curl_easy_perform(handle.get());
    if (code == CURLE_INTERFACE_FAILED) {  // not root, or every port taken
      FetchOptions ordinary = options;
      ordinary.privileged_source_port = false;
      return fetch_text(url, limit, ordinary);
    }
    TRY(judge(handle.get(), url, &sink, code, options));
  } else {
    TRY(perform(handle.get(), url, &sink, options));
  }
  if (sink.truncated)
    return make_error(ErrorCode::kCorruption,
                      "fetching " + url + ": larger than " + std::to_string(limit) + " bytes");
  return text;
}

Result<RangeResult> fetch_range_to_fd(const std::string& url, uint64_t offset, uint64_t limit,
                                      int fd, const FetchOptions& options) {
  std::string error_body;
  Sink sink{.limit = limit, .fd = fd, .text = &error_body};
  HeaderList headers(nullptr, curl_slist_free_all);
  CurlHandle handle = TRY(make_handle(url, &sink, options, &headers));
  std::string range = std::to_string(offset) + "-";
  if (offset > 0) {
    curl_easy_setopt(handle.get(), CURLOPT_RANGE, range.c_str());
    // Decide before the body arrives: a 200 means the whole file follows.
    curl_easy_setopt(handle.get(), CURLOPT_HEADERFUNCTION,
                     +[](char*, size_t size, size_t count, void* user) -> size_t {
                       auto* s = static_cast<Sink*>(user);
                       long status = 0;
                       curl_easy_getinfo(s->handle, CURLINFO_RESPONSE_CODE, &status);
                       if (status == 200) s->skip_body = true;
                       return size * count;
                     });
    curl_easy_setopt(handle.get(), CURLOPT_HEADERDATA, &sink);
  }
  long status = TRY(perform(handle.get(), url, &sink, options));
  if (offset > 0 && status == 416)
    return make_error(ErrorCode::kCorruption, "fetching " + url + ": server rejected range " + range);
  return RangeResult{.status = static_cast<int>(status), .written = sink.written,
                     .truncated = sink.truncated};
}

std::string resolve_url(const std::string& base, const std::string& reference) {
  if (reference.find("://") != std::string::npos) return reference;
  size_t scheme = base.find("://");
  size_t path_start = scheme == std::string::npos ? 0 : base.find('/', scheme + 3);
  if (path_start == std::string::npos) path_start = base.size();
  if (!reference.empty() && reference[0] == '/') return base.substr(0, path_start) + reference;
  size_t last_slash = base.rfind('/');
  if (last_slash == std::string::npos || last_slash < path_start) return base + "/" + reference;
  return base.substr(0, last_slash + 1) + reference;
}

}  // namespace goldroot::boot

#include "blockd/range_client.h"

#include <curl/curl.h>

#include <cstring>

#include "base/strings.h"
#include "crypto/curl_tls.h"

namespace goldroot::blockd {

namespace {

struct Transfer {
  CURL* handle = nullptr;
  char* out = nullptr;
  uint64_t length = 0;
  uint64_t received = 0;
  bool refused = false;      // not a 206: its body is not data
  bool too_long = false;     // more bytes than asked
  std::string content_range = {};  // of the final response
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (starts_with(line, "HTTP/")) transfer->content_range.clear();  // a new response (after 100, a redirect)
  constexpr std::string_view kName = "content-range:";
  if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0)
    transfer->content_range = std::string(trim(line.substr(kName.size())));
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t length = size * count;
  long status = 0;
  curl_easy_getinfo(transfer->handle, CURLINFO_RESPONSE_CODE, &status);
  if (status != 206) {
    transfer->refused = true;
    return status >= 400 ? length : CURL_WRITEFUNC_ERROR;  // error pages are read and dropped
  }
  if (transfer->received + length > transfer->length) {
    transfer->too_long = true;
    return CURL_WRITEFUNC_ERROR;
  }
  std::memcpy(transfer->out + transfer->received, data, length);
  transfer->received += length;
  return length;
}

}  // namespace

void range_client_global_init() { curl_global_init(CURL_GLOBAL_DEFAULT); }

Result<std::unique_ptr<RangeClient>> RangeClient::create(RangeClientOptions options) {
  std::unique_ptr<RangeClient> client(new RangeClient());
  client->options_ = std::move(options);
  CURL* handle = curl_easy_init();
  if (!handle) return make_error(ErrorCode::kIo, "curl_easy_init failed");
  client->handle_ = handle;
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, client->options_.connect_timeout_seconds);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, client->options_.stall_timeout_seconds);
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(handle, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "goldroot-blockd");
  curl_easy_setopt(handle, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
  client->fill_headers_ = curl_slist_append(nullptr, "X-Goldroot-Fill: 1");
  if (!client->fill_headers_) return make_error(ErrorCode::kIo, "curl_slist_append failed");
  if (!client->options_.reuse_connections) {
    curl_easy_setopt(handle, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(handle, CURLOPT_FRESH_CONNECT, 1L);
  }
  return client;
}

RangeClient::~RangeClient() {
  if (handle_) curl_easy_cleanup(static_cast<CURL*>(handle_));
  curl_slist_free_all(static_cast<curl_slist*>(fill_headers_));
}

Status RangeClient::fetch(const std::string& url, uint64_t offset, uint64_t length, char* out,
                          Lane lane) {
  if (length == 0) return {};
  CURL* handle = static_cast<CURL*>(handle_);
  Transfer transfer{.handle = handle, .out = out, .length = length};
  const std::string range = std::to_string(offset) + "-" + std::to_string(offset + length - 1);
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, lane == Lane::kFill ? fill_headers_ : nullptr);
  // The pin (or plain http) is set on every request: the URL may change.
  TRY(use_pinned_tls(handle, url, options_.pinned_public_key));
  CURLcode code = curl_easy_perform(handle);
  ++requests_;
  long new_connections = 0;
  curl_easy_getinfo(handle, CURLINFO_NUM_CONNECTS, &new_connections);
  connections_ += static_cast<uint64_t>(new_connections);
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  const std::string what = "fetching bytes " + range + " of " + url;
  if (transfer.too_long)
    return make_error(ErrorCode::kCorruption, what + ": the server sent more bytes than asked");
  if (status == 200 || (transfer.refused && status < 400 && status != 0))
    return make_error(ErrorCode::kCorruption,
                      what + ": the server answered " + std::to_string(status) +
                          " instead of 206 (it ignored the range)");
  if (status >= 400) {
    ErrorCode error = status == 404                    ? ErrorCode::kNotFound
                      : status == 401 || status == 403 ? ErrorCode::kPermissionDenied
                                                       : ErrorCode::kIo;
    return make_error(error, what + ": HTTP " + std::to_string(status));
  }
  if (code != CURLE_OK) return make_error(ErrorCode::kIo, what + ": " + curl_easy_strerror(code));
  if (status != 206)
    return make_error(ErrorCode::kCorruption, what + ": unexpected HTTP " + std::to_string(status));
  if (transfer.received != length)
    return make_error(ErrorCode::kCorruption, what + ": the server sent " +
                                                  std::to_string(transfer.received) + " bytes");
  // "bytes a-b/total" (or "/*"): the range itself must match.
  const std::string expected = "bytes " + range + "/";
  if (!starts_with(transfer.content_range, expected))
    return make_error(ErrorCode::kCorruption,
                      what + ": the server sent the range \"" + transfer.content_range + "\"");
  return {};
}

}  // namespace goldroot::blockd

#include "server/outgoing_response.h"

#include <ctime>

#include "base/strings.h"
#include "server/byte_range.h"

namespace goldroot::server {

namespace {

std::string_view without_weak_prefix(std::string_view tag) {
  return starts_with(tag, "W/") ? tag.substr(2) : tag;
}

const char* cache_control(CachePolicy policy) {
  switch (policy) {
    case CachePolicy::kNone:
      return nullptr;
    case CachePolicy::kNoStore:
      // "private" too: a shared cache in front (a building's nginx) must
      // never keep one host's answer for another, whatever it is told.
      return "private, no-store";
    case CachePolicy::kImmutable:
      return "public, max-age=31536000, immutable";
  }
  return nullptr;
}

}  // namespace

bool etag_matches(const std::string& if_none_match, const std::string& etag) {
  if (etag.empty()) return false;
  for (const std::string& candidate : split(if_none_match, ',')) {
    std::string_view tag = trim(candidate);
    if (tag == "*") return true;
    if (without_weak_prefix(tag) == without_weak_prefix(etag)) return true;
  }
  return false;
}

std::string http_date_now() {
  std::time_t now = std::time(nullptr);
  std::tm parts;
  ::gmtime_r(&now, &parts);
  char text[64];
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &parts);
  return text;
}

OutgoingResponse prepare_response(const HttpRequest* request, HttpResponse response,
                                  bool keep_alive, const std::string& date) {
  OutgoingResponse out;
  out.close_after = !keep_alive || request == nullptr;
  int status = response.status();
  const uint64_t size = response.size();
  const bool is_head = request && request->method == "HEAD";
  const bool representation =
      status == 200 && request && (request->method == "GET" || request->method == "HEAD");

  std::string content_range;
  ByteRange range{0, size};
  bool send_body = !is_head;
  if (representation) {
    const std::string* if_none_match = request->header("if-none-match");
    const std::string* range_header = request->header("range");
    const std::string* if_range = request->header("if-range");
    // If-Range with a validator that no longer matches means "send it all".
    bool range_allowed = !if_range || (!response.etag().empty() && *if_range == response.etag());
    if (if_none_match && etag_matches(*if_none_match, response.etag())) {
      status = 304;
      send_body = false;
    } else if (range_header && range_allowed) {
      RangeSelection selection = select_range(*range_header, size);
      if (selection.kind == RangeKind::kPartial) {
        status = 206;
        range = selection.range;
        out.range = std::to_string(range.first) + "-" + std::to_string(range.last());
        content_range = "bytes " + out.range + "/" + std::to_string(size);
      } else if (selection.kind == RangeKind::kUnsatisfiable) {
        status = 416;
        content_range = "bytes */" + std::to_string(size);
        response = HttpResponse::error(416);
        range = {0, response.size()};
      }
    }
  }

  std::string& head = out.head;
  head.reserve(384);
  head += "HTTP/1.1 " + std::to_string(status) + " " + status_reason(status) + "\r\n";
  head += "Server: goldroot\r\nDate: " + date + "\r\n";
  // The dashboard is same-origin only: nothing may frame it (clickjacking),
  // load from elsewhere, sniff a type, or carry its URL off in a Referer.
  head += "Content-Security-Policy: default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
          "form-action 'self'\r\nX-Frame-Options: DENY\r\nX-Content-Type-Options: nosniff\r\n"
          "Referrer-Policy: no-referrer\r\n";
  if (status != 304) {
    if (!response.content_type().empty())
      head += "Content-Type: " + response.content_type() + "\r\n";
    head += "Content-Length: " + std::to_string(range.length) + "\r\n";
  }
  if (representation) head += "Accept-Ranges: bytes\r\n";
  if (!content_range.empty()) head += "Content-Range: " + content_range + "\r\n";
  if (!response.etag().empty() && status != 416) head += "ETag: " + response.etag() + "\r\n";
  if (const char* cache = cache_control(response.cache()); cache && status != 416)
    head += std::string("Cache-Control: ") + cache + "\r\n";
  for (const auto& [name, value] : response.headers()) head += name + ": " + value + "\r\n";
  if (out.close_after) {
    head += "Connection: close\r\n";
  } else if (request->minor_version == 0) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";

  out.status = status;
  if (!send_body || status == 304) return out;
  if (response.has_file()) {
    out.file = response.take_file();
    out.file_offset = range.first;
    out.file_length = range.length;
  } else {
    out.memory_body = response.body().substr(range.first, range.length);
  }
  return out;
}

}  // namespace goldroot::server

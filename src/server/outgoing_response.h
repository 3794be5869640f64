// OutgoingResponse: a handler's HttpResponse after the server has applied
// the protocol to it for one request — HEAD drops the body, If-None-Match
// may turn it into 304, Range into 206 or 416 — and serialized its head.
// What is left is bytes to send: `head`, then either `memory_body` or
// `file_length` bytes of `file` from `file_offset`.
//
// Owns the file descriptor. Not thread-safe; belongs to one connection.
#pragma once

#include <cstdint>
#include <string>

#include "server/http_request.h"
#include "server/http_response.h"
#include "sys/unique_fd.h"

namespace goldroot::server {

struct OutgoingResponse {
  int status = 0;
  std::string head;
  std::string memory_body;
  UniqueFd file;
  uint64_t file_offset = 0;
  uint64_t file_length = 0;
  bool close_after = false;
  // A 206's "FIRST-LAST" (byte offsets, inclusive), for the access log.
  std::string range;

  uint64_t body_length() const { return file.valid() ? file_length : memory_body.size(); }
};

// `request` may be null for errors answered before a request was parsed;
// such responses close the connection. `date` is the HTTP Date value.
OutgoingResponse prepare_response(const HttpRequest* request, HttpResponse response,
                                  bool keep_alive, const std::string& date);

// True when an If-None-Match value lists `etag` (weak comparison, "*" matches).
bool etag_matches(const std::string& if_none_match, const std::string& etag);

// The current time as an HTTP date: "Sun, 22 Nov 2026 00:37:00 GMT".
std::string http_date_now();

}  // namespace goldroot::server

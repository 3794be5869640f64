// HttpRequest: one parsed HTTP/1.x request, and the parser that cuts it
// from the front of a connection's read buffer. The parser enforces size
// limits so a hostile client cannot make the server buffer without bound:
// it answers with the status the server should send (400, 413, 414, 431,
// 501, 505) and the server then closes the connection.
//
// Bodies are only read when Content-Length says so (bounded by
// RequestLimits::max_body); chunked request bodies are refused (501) —
// except on upload routes, whose bodies the connection streams
// (parse_head, then body_decoder.h).
// Plain values; the parser is a pure function and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace goldroot::server {

struct RequestLimits {
  size_t max_request_line = 8 * 1024;
  size_t max_header_bytes = 32 * 1024;  // request line and headers together
  size_t max_headers = 100;
  size_t max_body = 1024 * 1024;
};

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: path and query, still percent-encoded
  std::string path;    // canonical, decoded (see request_path.h)
  std::string query;   // after '?', still encoded; empty if none
  int minor_version = 1;
  // Names lowercased, values trimmed, in the order received.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The peer, filled in by the connection (not by the parser): "10.0.0.5"
  // or "::1", and its TCP source port. A port below 1024 means the client
  // process was privileged (root), which the layer route relies on.
  std::string remote_address;
  uint16_t remote_port = 0;
  // Whether it arrived over TLS (the connection's transport, not anything
  // the client said): a session cookie set in the answer is then Secure.
  bool secure = false;

  // The first header called `lowercase_name`, or nullptr.
  const std::string* header(std::string_view lowercase_name) const;
  // HTTP/1.1 keeps the connection unless "Connection: close"; 1.0 closes
  // unless "Connection: keep-alive".
  bool keep_alive() const;
};

enum class ParseState { kIncomplete, kComplete, kError };

struct ParseOutcome {
  ParseState state = ParseState::kIncomplete;
  size_t consumed = 0;   // bytes of the buffer the request took (kComplete)
  int error_status = 0;  // HTTP status to answer with (kError)
  std::string error_reason;
  // kIncomplete with the head read, a body still to come, and the client
  // waiting for "100 Continue" before sending it.
  bool expects_continue = false;
};

// Parses the request at the front of `buffer`. `scanned` carries how far a
// previous call already looked for the end of the head, so a request that
// trickles in byte by byte costs linear time; start it at 0 per request.
ParseOutcome parse_request(std::string_view buffer, const RequestLimits& limits, size_t* scanned,
                           HttpRequest* request);

// The two halves of parse_request. parse_head: kComplete with `consumed`
// the head's length, no body read. parse_body then takes the body after a
// head of `head_length` bytes into request->body (as parse_request does).
ParseOutcome parse_head(std::string_view buffer, const RequestLimits& limits, size_t* scanned,
                        HttpRequest* request);
ParseOutcome parse_body(std::string_view buffer, size_t head_length, const RequestLimits& limits,
                        size_t* scanned, HttpRequest* request);

}  // namespace goldroot::server

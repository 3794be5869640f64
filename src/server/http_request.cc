#include "server/http_request.h"

#include <algorithm>

#include "base/strings.h"
#include "server/request_path.h"

namespace goldroot::server {

namespace {

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

ParseOutcome failure(int status, std::string reason) {
  return {ParseState::kError, 0, status, std::move(reason), false};
}

// Finds the blank line ending the head; accepts bare LF line ends as
// RFC 9112 §2.2 allows. Returns the offset just past it, or npos.
size_t find_head_end(std::string_view buffer, size_t* scanned) {
  size_t from = *scanned > 3 ? *scanned - 3 : 0;
  for (size_t i = from; i < buffer.size(); ++i) {
    if (buffer[i] != '\n') continue;
    if (i >= 1 && buffer[i - 1] == '\n') return i + 1;
    if (i >= 2 && buffer[i - 1] == '\r' && buffer[i - 2] == '\n') return i + 1;
  }
  *scanned = buffer.size();
  return std::string_view::npos;
}

// Splits the next line off `head`, dropping its CRLF or LF.
std::string_view next_line(std::string_view* head) {
  size_t newline = head->find('\n');
  std::string_view line = head->substr(0, newline);
  head->remove_prefix(newline == std::string_view::npos ? head->size() : newline + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

ParseOutcome parse_request_line(std::string_view line, const RequestLimits& limits,
                                HttpRequest* request) {
  if (line.size() > limits.max_request_line) return failure(414, "request line too long");
  size_t first_space = line.find(' ');
  size_t last_space = line.rfind(' ');
  if (first_space == std::string_view::npos || first_space == last_space)
    return failure(400, "malformed request line");
  std::string_view method = line.substr(0, first_space);
  std::string_view target = line.substr(first_space + 1, last_space - first_space - 1);
  std::string_view version = line.substr(last_space + 1);
  if (!is_token(method)) return failure(400, "malformed method");
  if (target.empty() || target.find(' ') != std::string_view::npos)
    return failure(400, "malformed request target");
  if (version.size() != 8 || !starts_with(version, "HTTP/") || version[6] != '.')
    return failure(400, "malformed HTTP version");
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
    return failure(505, "unsupported HTTP version");
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return failure(400, "control character in request target");

  request->method = std::string(method);
  request->target = std::string(target);
  request->minor_version = version[7] - '0';
  size_t question = target.find('?');
  std::string_view raw_path = target.substr(0, question);
  // Drop any fragment a careless client sent along.
  raw_path = raw_path.substr(0, raw_path.find('#'));
  if (question != std::string_view::npos) request->query = std::string(target.substr(question + 1));
  auto path = canonical_request_path(raw_path);
  if (!path.ok()) return failure(400, path.error().message);
  request->path = std::move(path).value();
  return {ParseState::kComplete, 0, 0, {}, false};
}

}  // namespace

const std::string* HttpRequest::header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers)
    if (name == lowercase_name) return &value;
  return nullptr;
}

bool HttpRequest::keep_alive() const {
  const std::string* connection = header("connection");
  std::string value = connection ? lowercase(*connection) : std::string();
  bool says_close = value.find("close") != std::string::npos;
  bool says_keep = value.find("keep-alive") != std::string::npos;
  return minor_version >= 1 ? !says_close : (says_keep && !says_close);
}

ParseOutcome parse_head(std::string_view buffer, const RequestLimits& limits, size_t* scanned,
                        HttpRequest* request) {
  size_t head_end = find_head_end(buffer, scanned);
  if (head_end == std::string_view::npos) {
    size_t first_newline = buffer.find('\n');
    size_t line_length = first_newline == std::string_view::npos ? buffer.size() : first_newline;
    if (line_length > limits.max_request_line) return failure(414, "request line too long");
    if (buffer.size() > limits.max_header_bytes) return failure(431, "request head too large");
    return {ParseState::kIncomplete, 0, 0, {}, false};
  }
  if (head_end > limits.max_header_bytes) return failure(431, "request head too large");

  *request = HttpRequest{};
  std::string_view head = buffer.substr(0, head_end);
  // RFC 9112 §2.2: ignore empty lines before the request line.
  while (starts_with(head, "\r\n") || starts_with(head, "\n")) next_line(&head);
  ParseOutcome line_outcome = parse_request_line(next_line(&head), limits, request);
  if (line_outcome.state == ParseState::kError) return line_outcome;

  for (std::string_view line = next_line(&head); !line.empty(); line = next_line(&head)) {
    if (line.front() == ' ' || line.front() == '\t') return failure(400, "obsolete line folding");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
      return failure(400, "malformed header");
    if (request->headers.size() >= limits.max_headers) return failure(431, "too many headers");
    std::string_view value = trim(line.substr(colon + 1));
    for (char c : value)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
        return failure(400, "control character in header");
    request->headers.emplace_back(lowercase(line.substr(0, colon)), std::string(value));
  }
  if (request->minor_version >= 1 && !request->header("host")) return failure(400, "missing Host");
  // Two framings, or two lengths, let a proxy in front and this server read
  // different requests out of one stream (request smuggling): refuse both.
  size_t lengths = 0;
  for (const auto& [name, value] : request->headers) lengths += name == "content-length";
  if (lengths > 1) return failure(400, "duplicate Content-Length");
  if (lengths == 1 && request->header("transfer-encoding"))
    return failure(400, "both Content-Length and Transfer-Encoding");
  return {ParseState::kComplete, head_end, 0, {}, false};
}

ParseOutcome parse_request(std::string_view buffer, const RequestLimits& limits, size_t* scanned,
                           HttpRequest* request) {
  ParseOutcome head = parse_head(buffer, limits, scanned, request);
  if (head.state != ParseState::kComplete) return head;
  return parse_body(buffer, head.consumed, limits, scanned, request);
}

ParseOutcome parse_body(std::string_view buffer, size_t head_end, const RequestLimits& limits,
                        size_t* scanned, HttpRequest* request) {
  // No GET or HEAD route takes a body: refuse one before reading a byte of
  // it, so idle connections cannot each pin a body buffer.
  bool bodiless = request->method == "GET" || request->method == "HEAD";
  if (request->header("transfer-encoding"))
    return bodiless ? failure(400, "a GET or HEAD request carries no body")
                    : failure(501, "chunked bodies not supported");
  uint64_t body_length = 0;
  if (const std::string* length = request->header("content-length")) {
    if (!parse_uint64(*length, &body_length)) return failure(400, "malformed Content-Length");
    if (bodiless && body_length > 0) return failure(400, "a GET or HEAD request carries no body");
    if (body_length > limits.max_body) return failure(413, "body too large");
  }
  if (buffer.size() - head_end < body_length) {
    *scanned = head_end - 1;  // rescan from just before the end next time
    const std::string* expect = request->header("expect");
    bool expects_continue = expect && lowercase(*expect) == "100-continue" &&
                            buffer.size() == head_end && request->minor_version >= 1;
    return {ParseState::kIncomplete, 0, 0, {}, expects_continue};
  }
  request->body = std::string(buffer.substr(head_end, body_length));
  return {ParseState::kComplete, head_end + body_length, 0, {}, false};
}

}  // namespace goldroot::server

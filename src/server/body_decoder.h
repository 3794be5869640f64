// BodyDecoder: cuts a request body out of the bytes a connection receives,
// framed by Content-Length or by the chunked transfer coding (RFC 9112
// §7.1), for routes that take their body as a stream (Router::add_upload).
// Chunk extensions and trailer fields are read and dropped. The framing
// lines are bounded, so a hostile client cannot make it buffer without end;
// the body itself is handed on as it arrives, never held.
//
// A plain value; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "server/http_request.h"

namespace goldroot::server {

class BodyDecoder {
 public:
  static BodyDecoder with_length(uint64_t length);
  static BodyDecoder chunked();
  // The framing `head` announces: chunked, Content-Length, or none (an
  // empty body). Another transfer coding is kUnsupported (answer 501);
  // both headers, or a malformed length, kInvalidArgument (400).
  static Result<BodyDecoder> for_request(const HttpRequest& head);

  // Consumes what it can from the front of `input` and appends the body
  // bytes among it to `*body`; returns how much of `input` it consumed
  // (less than all only once done(), or when a framing line is still
  // incomplete). A malformed framing is kInvalidArgument.
  Result<size_t> feed(std::string_view input, std::string* body);
  bool done() const { return state_ == State::kDone; }
  uint64_t received() const { return received_; }  // body bytes so far

 private:
  enum class State { kLength, kChunkSize, kChunkData, kChunkEnd, kTrailer, kDone };
  explicit BodyDecoder(State state) : state_(state) {}
  // Takes the next line (without CR LF) into `line_`; false if incomplete.
  Result<bool> take_line(std::string_view input, size_t* at);

  State state_;
  uint64_t remaining_ = 0;  // of the body (kLength) or of this chunk (kChunkData)
  uint64_t received_ = 0;
  std::string line_;        // a framing line being read
  size_t trailer_bytes_ = 0;
};

}  // namespace goldroot::server

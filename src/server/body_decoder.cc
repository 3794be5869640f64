#include "server/body_decoder.h"

#include <algorithm>
#include <cctype>

#include "base/strings.h"

namespace goldroot::server {

namespace {

constexpr size_t kMaxLine = 1024;          // a chunk-size line with its extensions
constexpr size_t kMaxTrailerBytes = 8192;  // all trailer fields together

Error malformed(const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, "malformed chunked body: " + what);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

BodyDecoder BodyDecoder::with_length(uint64_t length) {
  BodyDecoder decoder(length == 0 ? State::kDone : State::kLength);
  decoder.remaining_ = length;
  return decoder;
}

BodyDecoder BodyDecoder::chunked() { return BodyDecoder(State::kChunkSize); }

Result<BodyDecoder> BodyDecoder::for_request(const HttpRequest& head) {
  const std::string* coding = head.header("transfer-encoding");
  const std::string* length = head.header("content-length");
  if (coding && length)
    return make_error(ErrorCode::kInvalidArgument, "both Transfer-Encoding and Content-Length");
  if (coding) {
    std::string name = *coding;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name != "chunked")
      return make_error(ErrorCode::kUnsupported, "transfer coding '" + *coding + "' not supported");
    return chunked();
  }
  uint64_t value = 0;
  if (length && !parse_uint64(*length, &value))
    return make_error(ErrorCode::kInvalidArgument, "malformed Content-Length");
  return with_length(value);
}

Result<bool> BodyDecoder::take_line(std::string_view input, size_t* at) {
  size_t newline = input.find('\n', *at);
  size_t end = newline == std::string_view::npos ? input.size() : newline;
  line_.append(input.substr(*at, end - *at));
  *at = newline == std::string_view::npos ? input.size() : newline + 1;
  if (line_.size() > kMaxLine) return malformed("a framing line is too long");
  if (newline == std::string_view::npos) return false;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  return true;
}

Result<size_t> BodyDecoder::feed(std::string_view input, std::string* body) {
  size_t at = 0;
  while (at < input.size() && state_ != State::kDone) {
    switch (state_) {
      case State::kLength:
      case State::kChunkData: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, input.size() - at));
        body->append(input.substr(at, take));
        at += take;
        remaining_ -= take;
        received_ += take;
        if (remaining_ == 0) state_ = state_ == State::kLength ? State::kDone : State::kChunkEnd;
        break;
      }
      case State::kChunkSize: {
        if (!TRY(take_line(input, &at))) break;
        std::string_view size = line_;
        size = size.substr(0, size.find(';'));  // chunk extensions
        while (!size.empty() && (size.back() == ' ' || size.back() == '\t')) size.remove_suffix(1);
        if (size.empty() || size.size() > 15) return malformed("bad chunk size '" + line_ + "'");
        uint64_t value = 0;
        for (char c : size) {
          int digit = hex_value(c);
          if (digit < 0) return malformed("bad chunk size '" + line_ + "'");
          value = value * 16 + static_cast<uint64_t>(digit);
        }
        line_.clear();
        remaining_ = value;
        state_ = value == 0 ? State::kTrailer : State::kChunkData;
        break;
      }
      case State::kChunkEnd: {
        if (!TRY(take_line(input, &at))) break;
        if (!line_.empty()) return malformed("a chunk is longer than its size says");
        state_ = State::kChunkSize;
        break;
      }
      case State::kTrailer: {
        if (!TRY(take_line(input, &at))) break;
        trailer_bytes_ += line_.size() + 2;
        if (trailer_bytes_ > kMaxTrailerBytes) return malformed("the trailer is too large");
        if (line_.empty()) state_ = State::kDone;
        line_.clear();
        break;
      }
      case State::kDone:
        break;
    }
  }
  return at;
}

}  // namespace goldroot::server

#include "server/body_decoder.h"

#include <gtest/gtest.h>

#include "base/testing/testing.h"

namespace goldroot::server {
namespace {

// Feeds `wire` in pieces of `step` bytes, as a connection would see it;
// returns the body, or "ERROR: …".
std::string decode(BodyDecoder decoder, const std::string& wire, size_t step,
                   size_t* left_over = nullptr) {
  std::string body, pending;
  for (size_t at = 0; at < wire.size(); at += step) {
    pending += wire.substr(at, step);
    auto consumed = decoder.feed(pending, &body);
    if (!consumed.ok()) return "ERROR: " + consumed.error().message;
    pending.erase(0, *consumed);
    if (decoder.done()) break;
  }
  if (left_over) *left_over = pending.size();
  return decoder.done() ? body : "INCOMPLETE: " + body;
}

TEST(BodyDecoderTest, ChunkedBodyInAnyPieces) {
  const std::string wire =
      "5\r\nhello\r\n1;name=value\r\n \r\nA\r\n0123456789\r\n0\r\nX-Sum: abc\r\n\r\n";
  for (size_t step : {1, 2, 3, 7, 1000})
    EXPECT_EQ(decode(BodyDecoder::chunked(), wire, step), "hello 0123456789") << step;
}

TEST(BodyDecoderTest, StopsAtTheEndOfTheBodyAndLeavesTheNextRequest) {
  size_t left = 0;
  EXPECT_EQ(decode(BodyDecoder::chunked(), "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 1000, &left),
            "abc");
  EXPECT_EQ(left, std::string("GET / HTTP/1.1\r\n").size());
  EXPECT_EQ(decode(BodyDecoder::with_length(4), "abcdGET", 1000, &left), "abcd");
  EXPECT_EQ(left, 3u);
}

TEST(BodyDecoderTest, LengthFramedAndEmptyBodies) {
  EXPECT_EQ(decode(BodyDecoder::with_length(10), "0123456789", 3), "0123456789");
  EXPECT_TRUE(BodyDecoder::with_length(0).done());
  EXPECT_EQ(decode(BodyDecoder::with_length(10), "01234", 3), "INCOMPLETE: 01234");
}

TEST(BodyDecoderTest, MalformedChunkingIsAnError) {
  EXPECT_EQ(decode(BodyDecoder::chunked(), "zz\r\n", 100).rfind("ERROR: ", 0), 0u);
  EXPECT_EQ(decode(BodyDecoder::chunked(), "\r\n", 100).rfind("ERROR: ", 0), 0u);
  // A chunk longer than its size line says.
  EXPECT_EQ(decode(BodyDecoder::chunked(), "2\r\nabc\r\n0\r\n\r\n", 100).rfind("ERROR: ", 0), 0u);
  // A size that would overflow, and a line without end.
  EXPECT_EQ(decode(BodyDecoder::chunked(), "1000000000000000\r\n", 100).rfind("ERROR: ", 0), 0u);
  EXPECT_EQ(decode(BodyDecoder::chunked(), std::string(5000, '1'), 100).rfind("ERROR: ", 0), 0u);
}

TEST(BodyDecoderTest, FramingFromTheHead) {
  HttpRequest request;
  request.headers = {{"transfer-encoding", "Chunked"}};
  ASSERT_OK_AND_ASSIGN(auto chunked, BodyDecoder::for_request(request));
  EXPECT_FALSE(chunked.done());
  request.headers = {{"content-length", "0"}};
  ASSERT_OK_AND_ASSIGN(auto empty, BodyDecoder::for_request(request));
  EXPECT_TRUE(empty.done());
  request.headers = {{"transfer-encoding", "gzip"}};
  EXPECT_EQ(BodyDecoder::for_request(request).error().code, ErrorCode::kUnsupported);
  request.headers = {{"transfer-encoding", "chunked"}, {"content-length", "3"}};
  EXPECT_EQ(BodyDecoder::for_request(request).error().code, ErrorCode::kInvalidArgument);
  request.headers = {{"content-length", "-1"}};
  EXPECT_EQ(BodyDecoder::for_request(request).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace goldroot::server

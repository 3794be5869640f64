#include "server/http_request.h"

#include <gtest/gtest.h>

namespace goldroot::server {
namespace {

ParseOutcome parse(std::string_view text, HttpRequest* request, RequestLimits limits = {}) {
  size_t scanned = 0;
  return parse_request(text, limits, &scanned, request);
}

TEST(HttpRequest, ParsesAGetWithHeaders) {
  std::string text =
      "GET /boot/aa%3Abb.ipxe?x=1 HTTP/1.1\r\nHost: server\r\nRange:  bytes=0-9 \r\n"
      "User-Agent: iPXE/1.21\r\n\r\nGET / HTTP/1.1\r\n";
  HttpRequest request;
  ParseOutcome outcome = parse(text, &request);
  ASSERT_EQ(outcome.state, ParseState::kComplete) << outcome.error_reason;
  EXPECT_EQ(outcome.consumed, text.find("GET /", 1));
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/boot/aa:bb.ipxe");
  EXPECT_EQ(request.query, "x=1");
  ASSERT_NE(request.header("range"), nullptr);
  EXPECT_EQ(*request.header("range"), "bytes=0-9");
  EXPECT_TRUE(request.keep_alive());
}

TEST(HttpRequest, KeepAliveFollowsVersionAndConnectionHeader) {
  HttpRequest request;
  ASSERT_EQ(parse("GET / HTTP/1.0\r\n\r\n", &request).state, ParseState::kComplete);
  EXPECT_FALSE(request.keep_alive());
  ASSERT_EQ(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &request).state,
            ParseState::kComplete);
  EXPECT_TRUE(request.keep_alive());
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", &request).state,
            ParseState::kComplete);
  EXPECT_FALSE(request.keep_alive());
}

TEST(HttpRequest, WaitsForTheWholeHeadAndBody) {
  std::string text = "POST /api/v1/report HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  HttpRequest request;
  size_t scanned = 0;
  for (size_t length = 0; length < text.size(); ++length)
    ASSERT_EQ(parse_request(std::string_view(text).substr(0, length), {}, &scanned, &request).state,
              ParseState::kIncomplete)
        << length;
  ParseOutcome outcome = parse_request(text, {}, &scanned, &request);
  ASSERT_EQ(outcome.state, ParseState::kComplete);
  EXPECT_EQ(request.body, "hello");
}

TEST(HttpRequest, FlagsAClientWaitingFor100Continue) {
  std::string head =
      "POST /api/v1/report HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
      "Content-Length: 5\r\n\r\n";
  HttpRequest request;
  size_t scanned = 0;
  ParseOutcome outcome = parse_request(head, {}, &scanned, &request);
  EXPECT_EQ(outcome.state, ParseState::kIncomplete);
  EXPECT_TRUE(outcome.expects_continue);
  outcome = parse_request(head + "he", {}, &scanned, &request);
  EXPECT_FALSE(outcome.expects_continue);  // the body has started: no need
  outcome = parse_request(head + "hello", {}, &scanned, &request);
  EXPECT_EQ(outcome.state, ParseState::kComplete);
  EXPECT_EQ(request.body, "hello");
}

TEST(HttpRequest, AcceptsBareLineFeeds) {
  HttpRequest request;
  ASSERT_EQ(parse("GET /x HTTP/1.1\nHost: h\n\n", &request).state, ParseState::kComplete);
  EXPECT_EQ(request.path, "/x");
}

TEST(HttpRequest, AnswersMalformedRequestsWithTheRightStatus) {
  struct Case {
    std::string text;
    int status;
  };
  std::vector<Case> cases = {
      {"GARBAGE\r\n\r\n", 400},
      {"GET /\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n\r\n", 400},  // no Host
      {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
      {"GET / FTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET /../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET relative HTTP/1.1\r\nHost: h\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999\r\n\r\n", 413},
      {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
      {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      // Request smuggling: two lengths, even equal ones, or two framings.
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 5\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\nx", 400},
      {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n", 414},
      {"GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(40000, 'a'), 431},
  };
  for (const Case& c : cases) {
    HttpRequest request;
    ParseOutcome outcome = parse(c.text, &request);
    EXPECT_EQ(outcome.state, ParseState::kError) << c.text.substr(0, 60);
    EXPECT_EQ(outcome.error_status, c.status) << c.text.substr(0, 60);
  }
  std::string many = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 200; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  HttpRequest request;
  EXPECT_EQ(parse(many + "\r\n", &request).error_status, 431);
}

}  // namespace
}  // namespace goldroot::server

// The server over real loopback sockets, in-process: protocol behaviour
// (ranges, HEAD, ETag), hostile input, and resource hygiene under load.
#include "server/http_server_fixture.h"

namespace goldroot::server {
namespace {

TEST_F(HttpServerTest, ServesAFileWholeAndAnswersHeadWithoutABody) {
  start();
  TestClient client(server_->port());
  ASSERT_TRUE(client.send_all(get_request("/files/big.bin")));
  auto whole = client.read_response();
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_TRUE(whole->body == big_);
  EXPECT_EQ(whole->header("accept-ranges"), "bytes");
  EXPECT_EQ(whole->header("content-type"), "application/octet-stream");
  EXPECT_FALSE(whole->header("date").empty());

  // HEAD then GET on the same connection: any body bytes after HEAD would
  // corrupt the second response.
  ASSERT_TRUE(client.send_all(get_request("/files/sub/hello.txt", "", "HEAD")));
  auto head = client.read_response(/*head_request=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("content-length"), "6");
  ASSERT_TRUE(client.send_all(get_request("/files/sub/hello.txt")));
  auto get = client.read_response();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "hello\n");
  EXPECT_EQ(get->header("etag"), head->header("etag"));
}

TEST_F(HttpServerTest, RandomRangesMatchTheFileByteForByte) {
  start();
  TestClient client(server_->port());
  std::mt19937_64 generator(42);
  const uint64_t size = big_.size();
  for (int i = 0; i < 300; ++i) {
    uint64_t first = generator() % size;
    uint64_t last = first + generator() % std::min<uint64_t>(size - first, 300000);
    uint64_t suffix = 1 + generator() % 100000;
    std::string spec;
    uint64_t expected_first = first, expected_length = last - first + 1;
    switch (i % 3) {
      case 0:
        spec = std::to_string(first) + "-" + std::to_string(last);
        break;
      case 1:
        spec = std::to_string(first) + "-";
        expected_length = size - first;
        break;
      case 2:
        spec = "-" + std::to_string(suffix);
        expected_first = size - suffix;
        expected_length = suffix;
        break;
    }
    ASSERT_TRUE(client.send_all(get_request("/files/big.bin", "Range: bytes=" + spec + "\r\n")));
    auto response = client.read_response();
    ASSERT_TRUE(response) << spec;
    ASSERT_EQ(response->status, 206) << spec;
    EXPECT_EQ(response->header("content-range"),
              "bytes " + std::to_string(expected_first) + "-" +
                  std::to_string(expected_first + expected_length - 1) + "/" +
                  std::to_string(size));
    ASSERT_TRUE(response->body == big_.substr(expected_first, expected_length)) << spec;
  }
}

TEST_F(HttpServerTest, UnsatisfiableRangeIs416AndIgnoredRangeIsWhole) {
  start();
  auto response = fetch(get_request("/files/sub/hello.txt", "Range: bytes=6-\r\n"));
  EXPECT_EQ(response.status, 416);
  EXPECT_EQ(response.header("content-range"), "bytes */6");
  response = fetch(get_request("/files/sub/hello.txt", "Range: bytes=0-1,3-4\r\n"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "hello\n");
  // In-memory bodies honour ranges too.
  response = fetch(get_request("/hello", "Range: bytes=-6\r\n"));
  EXPECT_EQ(response.status, 206);
  EXPECT_EQ(response.body, "there\n");
}

TEST_F(HttpServerTest, PerHostAnswersForbidSharedCaches) {
  start();
  // What a building's cache in front must pass through and never keep.
  auto response = fetch(get_request("/hello"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.header("cache-control"), "private, no-store");
}

TEST_F(HttpServerTest, EtagRevalidationAnswers304) {
  start();
  auto first = fetch(get_request("/objects/abc123.erofs"));
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.header("etag"), "\"abc123\"");
  EXPECT_EQ(first.header("cache-control"), "public, max-age=31536000, immutable");
  for (const std::string& condition : {std::string("\"abc123\""), std::string("W/\"abc123\""),
                                       std::string("\"other\", \"abc123\""), std::string("*")}) {
    auto again =
        fetch(get_request("/objects/abc123.erofs", "If-None-Match: " + condition + "\r\n"));
    EXPECT_EQ(again.status, 304) << condition;
    EXPECT_EQ(again.body, "");
    EXPECT_EQ(again.header("etag"), "\"abc123\"");
  }
  auto changed = fetch(get_request("/objects/abc123.erofs", "If-None-Match: \"old\"\r\n"));
  EXPECT_EQ(changed.status, 200);
  EXPECT_EQ(changed.body, "content addressed");
  // If-Range with a stale validator sends the whole, fresh representation.
  auto stale =
      fetch(get_request("/objects/abc123.erofs", "Range: bytes=0-3\r\nIf-Range: \"old\"\r\n"));
  EXPECT_EQ(stale.status, 200);
  auto fresh =
      fetch(get_request("/objects/abc123.erofs", "Range: bytes=0-3\r\nIf-Range: \"abc123\"\r\n"));
  EXPECT_EQ(fresh.status, 206);
  EXPECT_EQ(fresh.body, "cont");
}

TEST_F(HttpServerTest, TraversalAttemptsNeverReachOutsideTheRoot) {
  start();
  for (const std::string target :
       {"/files/../secret.txt", "/files/%2e%2e/secret.txt", "/files/%2E%2E%2Fsecret.txt",
        "/files/sub/..%2f..%2fsecret.txt", "/files/escape", "/files/..\\secret.txt", "/files/%00",
        "/files/sub%00/hello.txt", "/files//..//secret.txt", "/files/sub/../../secret.txt",
        "/files/fifo", "/files/sub", "/files/sub/", "/files/%252e%252e/secret.txt",
        "/objects/../secret.txt"}) {
    auto response = fetch(get_request(target));
    EXPECT_TRUE(response.status == 400 || response.status == 404)
        << target << " " << response.status;
    EXPECT_EQ(response.body.find("TOP-SECRET"), std::string::npos) << target;
  }
  // A raw NUL byte inside the request line.
  static const char kWithNul[] = "GET /files/sub/hello.txt\0/x HTTP/1.1\r\nHost: t\r\n\r\n";
  auto response = fetch(std::string(kWithNul, sizeof kWithNul - 1));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(fetch(get_request("/files/sub/hello.txt")).status, 200);
}

TEST_F(HttpServerTest, MalformedRequestsGetAnErrorAndTheServerGoesOn) {
  start();
  struct Case {
    std::string request;
    int status;
  };
  std::vector<Case> cases = {
      {"BLAH\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n\r\n", 400},
      {"GET /files/big.bin HTTP/3.0\r\nHost: t\r\n\r\n", 505},
      {"GET /" + std::string(20000, 'x') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414},
      {"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(64 << 10, 'y') + "\r\n\r\n", 431},
      {"POST /files/big.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", 413},
      {"POST /files/big.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 405},
      {"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501},
      {"GET /throws HTTP/1.1\r\nHost: t\r\n\r\n", 500},
      {"GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n", 404},
  };
  for (const Case& c : cases) {
    auto response = fetch(c.request);
    EXPECT_EQ(response.status, c.status) << c.request.substr(0, 40);
  }
  // Random binary garbage must not crash anything.
  for (uint32_t seed = 0; seed < 20; ++seed) {
    TestClient client(server_->port());
    client.send_all(random_bytes(1000 + seed * 300, seed) + "\r\n\r\n");
    client.wait_for_close();
  }
  auto response = fetch(get_request("/files/medium.bin"));
  EXPECT_TRUE(response.body == medium_);
  expect_fds_back_to_baseline();
}

TEST_F(HttpServerTest, SilentClientsAreClosedAfterTheHeaderTimeout) {
  ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(300);
  options.idle_timeout = std::chrono::milliseconds(300);
  start(options);
  TestClient trickle(server_->port());
  ASSERT_TRUE(trickle.send_all("GET /files/big.bin HTTP/1.1\r\nHo"));
  TestClient idle(server_->port());
  EXPECT_TRUE(trickle.wait_for_close());
  EXPECT_TRUE(idle.wait_for_close());
  trickle.close();
  idle.close();
  expect_fds_back_to_baseline();
}

TEST_F(HttpServerTest, DeferredResponsesAreMadeOffTheLoopWhileOthersAreServed) {
  ServerOptions options;
  options.threads = 1;  // one event loop: a handler blocking it would stall /hello
  start(options);
  TestClient slow(server_->port());
  ASSERT_TRUE(slow.send_all(get_request("/slow?hold") + get_request("/hello")));
  auto quick = fetch(get_request("/hello"));
  EXPECT_EQ(quick.body, "hi there\n");
  EXPECT_FALSE(slow_done_) << "/hello waited for the slow response";
  release_slow_ = true;
  auto first = slow.read_response();
  auto second = slow.read_response();  // pipelined behind it, answered in order
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, "made off the loop: hold\n");
  EXPECT_EQ(second->body, "hi there\n");
  // A client that leaves before its response is made costs nothing.
  TestClient gone(server_->port());
  ASSERT_TRUE(gone.send_all(get_request("/slow?short")));
  gone.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  slow.close();
  expect_fds_back_to_baseline();
}

TEST_F(HttpServerTest, OneAddressHoldsAtMostItsShareOfConnections) {
  ServerOptions options;
  options.max_connections_per_address = 8;
  start(options);
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 30; ++i) clients.push_back(std::make_unique<TestClient>(server_->port()));
  for (int i = 0; i < 200 && server_->open_connections() < 8; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(server_->open_connections(), 8u);
  int answered = 0;
  for (auto& client : clients)
    if (client->send_all(get_request("/hello")) && client->read_response()) ++answered;
  EXPECT_EQ(answered, 8);
  clients.clear();
  expect_fds_back_to_baseline();
  EXPECT_EQ(fetch(get_request("/hello")).status, 200);  // the slots came back
}

TEST_F(HttpServerTest, ARouteWithoutABodyRefusesOneBeforeReadingIt) {
  start();
  TestClient client(server_->port());
  // The head promises a megabyte that never comes: the answer must not wait for it.
  ASSERT_TRUE(client.send_all("POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n"));
  auto response = client.read_response();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(fetch("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok").body, "POST ok");
}

TEST_F(HttpServerTest, ANewConnectionMustSendItsHeadWithinTheHeaderTimeout) {
  ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(300);
  options.idle_timeout = std::chrono::seconds(30);
  start(options);
  TestClient silent(server_->port());
  // Closed by the 300 ms head deadline: the 30 s idle one would outlast the
  // client's 10 s read timeout, and wait_for_close would fail.
  EXPECT_TRUE(silent.wait_for_close());
  silent.close();
  expect_fds_back_to_baseline();
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  TestClient client(server_->port());
  ASSERT_TRUE(client.send_all(get_request("/hello") + get_request("/files/sub/hello.txt") +
                              get_request("/hello", "Connection: close\r\n")));
  auto first = client.read_response();
  auto second = client.read_response();
  auto third = client.read_response();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->body, "hi there\n");
  EXPECT_EQ(second->body, "hello\n");
  EXPECT_EQ(third->header("connection"), "close");
  EXPECT_TRUE(client.wait_for_close());
}

TEST_F(HttpServerTest, RequestBodiesWithAndWithout100Continue) {
  start();
  TestClient client(server_->port());
  ASSERT_TRUE(client.send_all("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nreport"));
  auto plain = client.read_response();
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->body, "POST report");
  ASSERT_TRUE(client.send_all(
      "PUT /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"));
  auto go_on = client.read_response();
  ASSERT_TRUE(go_on);
  EXPECT_EQ(go_on->status, 100);
  ASSERT_TRUE(client.send_all("ok"));
  auto final_response = client.read_response();
  ASSERT_TRUE(final_response);
  EXPECT_EQ(final_response->body, "PUT ok");
}

TEST_F(HttpServerTest, FiveHundredConcurrentConnections) {
  ServerOptions options;
  options.max_connections_per_address = 0;  // all from 127.0.0.1
  start(options);
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 500; ++i) {
    clients.push_back(std::make_unique<TestClient>(server_->port()));
    ASSERT_TRUE(clients.back()->connected()) << i;
  }
  for (auto& client : clients) ASSERT_TRUE(client->send_all(get_request("/files/medium.bin")));
  int correct = 0;
  for (auto& client : clients) {
    auto response = client->read_response();
    if (response && response->status == 200 && response->body == medium_) ++correct;
  }
  EXPECT_EQ(correct, 500);
  clients.clear();
  expect_fds_back_to_baseline();
}

TEST_F(HttpServerTest, ASlowReaderDoesNotHoldUpAFastOne) {
  ServerOptions options;
  options.threads = 1;  // one event loop: blocking on the slow reader would stall the fast one
  start(options);
  TestClient slow(server_->port(), /*receive_buffer=*/4096);
  ASSERT_TRUE(slow.send_all(get_request("/files/big.bin")));
  ASSERT_TRUE(slow.wait_readable());  // its transfer has begun
  for (int i = 0; i < 3; ++i) {
    TestClient fast(server_->port());
    ASSERT_TRUE(fast.send_all(get_request("/files/big.bin")));
    auto response = fast.read_response();
    ASSERT_TRUE(response);
    EXPECT_TRUE(response->body == big_);
  }
  // The slow reader still gets every byte, uncorrupted.
  auto rest = slow.read_response();
  ASSERT_TRUE(rest);
  EXPECT_TRUE(rest->body == big_);
}

// A fill (X-Goldroot-Fill) sent while boot reads ran is held to the fill
// lane's budget: it waits on the event loop's timer list, not on a thread,
// so the loop keeps answering others, and its body still arrives whole.
TEST_F(HttpServerTest, AFillHeldBackForBootReadsStillArrivesWhole) {
  ServerOptions options;
  options.threads = 1;
  options.fill_lane = FillLaneOptions{.link_rate = 8'000'000, .burst = 16 * 1024,
                                      .min_grant = 4 * 1024};
  start(options);
  // A boot read of 8 MiB: the lane is in debt, fills get only their floor.
  EXPECT_TRUE(fetch(get_request("/files/big.bin", "Range: bytes=0-8388607\r\n")).body == big_);
  TestClient fill(server_->port());
  ASSERT_TRUE(fill.send_all(get_request("/files/medium.bin", "X-Goldroot-Fill: 1\r\n")));
  ASSERT_TRUE(fill.wait_readable());  // its head is out; its body waits for budget
  ParsedResponse other = fetch(get_request("/files/sub/hello.txt"));
  EXPECT_EQ(other.body, "hello\n");
  auto held = fill.read_response();
  ASSERT_TRUE(held);
  EXPECT_EQ(held->status, 200);
  EXPECT_TRUE(held->body == medium_);
  // The access log says which lane it went in.
  server_->stop();  // joins the workers, so every line is written
  std::string log = goldroot::testing::read_file(temp_ / "access.log");
  EXPECT_NE(log.find("\"fill\":true"), std::string::npos);
}

TEST_F(HttpServerTest, ClientsVanishingMidTransferLeakNothing) {
  start();
  for (int round = 0; round < 40; ++round) {
    TestClient client(server_->port());
    ASSERT_TRUE(client.send_all(get_request("/files/big.bin")));
    client.read_raw(1000 + static_cast<size_t>(round) * 5000);
    if (round % 2) {
      client.reset();
    } else {
      client.close();
    }
  }
  // And some that leave before reading anything, mid-request.
  for (int round = 0; round < 20; ++round) {
    TestClient client(server_->port());
    client.send_all("GET /files/big.bin HTTP/1.1\r\n");
  }
  auto response = fetch(get_request("/files/big.bin"));
  EXPECT_TRUE(response.body == big_);
  expect_fds_back_to_baseline();
  std::string log = goldroot::testing::read_file(temp_ / "access.log");
  EXPECT_NE(log.find("\"aborted\":true"), std::string::npos);
}

TEST_F(HttpServerTest, AccessLogHasOneJsonObjectPerRequest) {
  start();
  fetch(get_request("/files/sub/hello.txt"));
  fetch(get_request("/nowhere"));
  fetch(get_request("/objects/abc123.erofs", "Range: bytes=2-5\r\n"));
  server_->stop();  // joins the workers, so every line is written
  // Lines from different connections may come in either order.
  std::map<std::string, nlohmann::json> by_path;
  for (const std::string& line : split(goldroot::testing::read_file(temp_ / "access.log"), '\n'))
    if (!line.empty()) {
      auto record = nlohmann::json::parse(line);
      by_path[record["path"]] = record;
    }
  ASSERT_EQ(by_path.size(), 3u);
  const nlohmann::json& hello = by_path["/files/sub/hello.txt"];
  EXPECT_EQ(hello["method"], "GET");
  EXPECT_EQ(hello["status"], 200);
  EXPECT_EQ(hello["bytes"], 6);
  EXPECT_TRUE(hello["client"].get<std::string>().starts_with("127.0.0.1:"));
  EXPECT_TRUE(hello["time"].is_string());
  EXPECT_TRUE(hello["duration_ms"].is_number());
  EXPECT_FALSE(hello.contains("range"));
  EXPECT_EQ(by_path["/nowhere"]["status"], 404);
  const nlohmann::json& part = by_path["/objects/abc123.erofs"];
  EXPECT_EQ(part["status"], 206);
  EXPECT_EQ(part["range"], "2-5");
  EXPECT_EQ(part["bytes"], 4);
}

TEST_F(HttpServerTest, StopsWithClientsStillConnected) {
  start();
  TestClient slow(server_->port(), 4096);
  ASSERT_TRUE(slow.send_all(get_request("/files/big.bin")));
  TestClient idle(server_->port());
  slow.read_raw(100);
  server_->stop();
  EXPECT_TRUE(idle.wait_for_close());
}

}  // namespace
}  // namespace goldroot::server

namespace goldroot::server {
namespace {

TEST_F(HttpServerTest, UploadsStreamChunkedAndSizedBodiesIntoTheSink) {
  start();
  TestClient client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send_all("POST /upload/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                              chunked(big_, 3)));
  auto first = client.read_response();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, std::to_string(big_.size()));
  {
    std::lock_guard<std::mutex> lock(uploads_.mutex);
    EXPECT_TRUE(uploads_.finished == big_);
  }
  // The connection goes on: a sized upload, then an ordinary request.
  ASSERT_TRUE(client.send_all("PUT /upload/b HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                              std::to_string(medium_.size()) + "\r\n\r\n" + medium_ +
                              "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto second = client.read_response();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->body, std::to_string(medium_.size()));
  auto third = client.read_response();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->body, "hi there\n");
  std::lock_guard<std::mutex> lock(uploads_.mutex);
  EXPECT_TRUE(uploads_.finished == medium_);
  EXPECT_EQ(uploads_.aborted, 0);
}

TEST_F(HttpServerTest, AnUploadOverItsLimitIsReadToTheEndAndAnswered413) {
  start();
  // The whole body is on its way before the answer: the client must still
  // read a 413 that says why, not a reset.
  // (4 MiB: far more than the socket buffers hold.)
  auto capped = fetch("POST /upload/capped HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                      chunked(std::string(4 << 20, 'u'), 5));
  EXPECT_EQ(capped.status, 413);
  EXPECT_EQ(capped.body, "the upload is over its limit\n");
  EXPECT_EQ(capped.header("connection"), "close");
  std::lock_guard<std::mutex> lock(uploads_.mutex);
  EXPECT_EQ(uploads_.aborted, 1);  // the sink saw no finish()
}

TEST_F(HttpServerTest, RefusedFailedAndCutOffUploadsLeaveNothingBehind) {
  start();
  auto refused = fetch("POST /upload/refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(refused.status, 403);
  auto full = fetch("POST /upload/small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                    chunked(medium_, 4));
  EXPECT_EQ(full.status, 507);
  EXPECT_EQ(full.body, "no space left for the upload\n");
  auto bad = fetch("POST /upload/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n");
  EXPECT_EQ(bad.status, 400);
  auto coding = fetch("POST /upload/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n");
  EXPECT_EQ(coding.status, 501);
  {
    TestClient vanishing(server_->port());
    ASSERT_TRUE(vanishing.send_all("POST /upload/d HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" +
                                   medium_.substr(0, 5000)));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    vanishing.reset();
  }
  expect_fds_back_to_baseline();
  std::lock_guard<std::mutex> lock(uploads_.mutex);
  EXPECT_EQ(uploads_.aborted, 3);  // the full, the malformed and the vanished one
  EXPECT_TRUE(uploads_.finished.empty());
}

}  // namespace
}  // namespace goldroot::server

// The server over TLS, in-process: the same server, router and workers
// behind a second listener.
#include "server/http_server_fixture.h"

namespace goldroot::server {
namespace {

// A suite of its own: gtest wants one fixture class per suite name, and the
// fixture header gives each test file its own HttpServerTest.
class TlsServerTest : public HttpServerTest {};

TEST_F(TlsServerTest, TlsServesKeepAliveRequestsAndLargeFilesByteForByte) {
  start_tls();
  ASSERT_NE(server_->tls_port(), 0);
  ASSERT_NE(server_->tls_port(), server_->port());
  TestClient client(server_->tls_port(), 0, Wire::kTls);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send_all(get_request("/wire")));
  auto wire = client.read_response();
  ASSERT_TRUE(wire);
  EXPECT_EQ(wire->body, "tls");
  // One connection: a large file, a HEAD, ranges, a pipelined pair.
  ASSERT_TRUE(client.send_all(get_request("/files/big.bin")));
  auto whole = client.read_response();
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_TRUE(whole->body == big_);
  ASSERT_TRUE(client.send_all(get_request("/files/sub/hello.txt", "", "HEAD")));
  auto head = client.read_response(/*head_request=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("content-length"), "6");
  std::mt19937_64 generator(7);
  for (int i = 0; i < 20; ++i) {
    uint64_t first = generator() % big_.size();
    uint64_t last = std::min<uint64_t>(big_.size() - 1, first + generator() % 500000);
    ASSERT_TRUE(client.send_all(get_request(
        "/files/big.bin", "Range: bytes=" + std::to_string(first) + "-" + std::to_string(last) + "\r\n")));
    auto part = client.read_response();
    ASSERT_TRUE(part);
    ASSERT_EQ(part->status, 206);
    ASSERT_TRUE(part->body == big_.substr(first, last - first + 1));
  }
  ASSERT_TRUE(client.send_all(get_request("/hello") + get_request("/files/medium.bin")));
  auto first = client.read_response();
  auto second = client.read_response();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, "hi there\n");
  EXPECT_TRUE(second->body == medium_);
  // The plain listener goes on beside it, and says so.
  EXPECT_EQ(fetch(get_request("/wire")).body, "plain");
  client.close();
  expect_fds_back_to_baseline();
}

TEST_F(TlsServerTest, TlsUploadsStreamIntoTheSink) {
  start_tls();
  TestClient client(server_->tls_port(), 0, Wire::kTls);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send_all(
      "POST /upload/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(big_, 9)));
  auto chunked_upload = client.read_response();
  ASSERT_TRUE(chunked_upload);
  EXPECT_EQ(chunked_upload->body, std::to_string(big_.size()));
  {
    std::lock_guard<std::mutex> lock(uploads_.mutex);
    EXPECT_TRUE(uploads_.finished == big_);
  }
  // 100 Continue goes through the TLS session too.
  ASSERT_TRUE(client.send_all("PUT /upload/b HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                              "Content-Length: " + std::to_string(medium_.size()) + "\r\n\r\n"));
  auto go_on = client.read_response();
  ASSERT_TRUE(go_on);
  EXPECT_EQ(go_on->status, 100);
  ASSERT_TRUE(client.send_all(medium_));
  auto sized = client.read_response();
  ASSERT_TRUE(sized);
  EXPECT_EQ(sized->body, std::to_string(medium_.size()));
  std::lock_guard<std::mutex> lock(uploads_.mutex);
  EXPECT_TRUE(uploads_.finished == medium_);
  EXPECT_EQ(uploads_.aborted, 0);
}

TEST_F(TlsServerTest, GarbageInsteadOfAHandshakeCostsOneConnectionAndOneLogLine) {
  ServerOptions options;
  options.threads = 1;  // the garbage and the good client share one event loop
  start_tls(options);
  TestClient good(server_->tls_port(), 0, Wire::kTls);
  ASSERT_TRUE(good.connected());
  ASSERT_TRUE(good.send_all(get_request("/hello")));
  ASSERT_TRUE(good.read_response());
  std::vector<std::string> garbage = {get_request("/hello"), random_bytes(3000, 11),
                                      std::string("\x16\x03\x01\x00\x05hello", 10)};
  for (const std::string& bytes : garbage) {
    TestClient bad(server_->tls_port());
    ASSERT_TRUE(bad.send_all(bytes));
    EXPECT_TRUE(bad.wait_for_close());
  }
  // The good client's session is unharmed, mid-connection.
  ASSERT_TRUE(good.send_all(get_request("/files/medium.bin")));
  auto after = good.read_response();
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->body == medium_);
  good.close();
  expect_fds_back_to_baseline();
  server_->stop();
  int failures = 0;
  for (const std::string& line : split(goldroot::testing::read_file(temp_ / "access.log"), '\n')) {
    if (line.empty()) continue;
    auto record = nlohmann::json::parse(line);
    if (!record.contains("failure")) continue;
    ++failures;
    EXPECT_EQ(record["status"], 0);
    EXPECT_TRUE(record["failure"].get<std::string>().starts_with("TLS handshake failed: ")) << line;
  }
  EXPECT_EQ(failures, 3);
}

TEST_F(TlsServerTest, TlsConnectionsKeepTheDeadlinesAndThePerAddressLimit) {
  ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(300);
  options.idle_timeout = std::chrono::milliseconds(300);
  options.max_connections_per_address = 4;
  start_tls(options);
  // Silent before the handshake, and half a ClientHello: the head deadline.
  TestClient silent(server_->tls_port());
  TestClient half(server_->tls_port());
  ASSERT_TRUE(half.send_all(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
  EXPECT_TRUE(silent.wait_for_close());
  EXPECT_TRUE(half.wait_for_close());
  // After the handshake, an idle session: the idle deadline.
  TestClient idle(server_->tls_port(), 0, Wire::kTls);
  ASSERT_TRUE(idle.connected());
  EXPECT_TRUE(idle.wait_for_close());
  silent.close();
  half.close();
  idle.close();
  expect_fds_back_to_baseline();
  // Plain and TLS connections count together against one address.
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(std::make_unique<TestClient>(server_->port()));
  for (int i = 0; i < 5; ++i) clients.push_back(std::make_unique<TestClient>(server_->tls_port()));
  for (int i = 0; i < 200 && server_->open_connections() < 4; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(server_->open_connections(), 4u);
  clients.clear();
  expect_fds_back_to_baseline();
}

TEST_F(TlsServerTest, ASlowTlsReaderDoesNotHoldUpAFastOneAndGetsEveryByte) {
  ServerOptions options;
  options.threads = 1;  // one event loop: blocking on the slow reader would stall the fast one
  start_tls(options);
  TestClient slow(server_->tls_port(), /*receive_buffer=*/4096, Wire::kTls);
  ASSERT_TRUE(slow.connected());
  ASSERT_TRUE(slow.send_all(get_request("/files/big.bin")));
  ASSERT_TRUE(slow.wait_readable());
  for (int i = 0; i < 3; ++i) {
    TestClient fast(server_->tls_port(), 0, Wire::kTls);
    ASSERT_TRUE(fast.send_all(get_request("/files/big.bin")));
    auto response = fast.read_response();
    ASSERT_TRUE(response);
    EXPECT_TRUE(response->body == big_);
  }
  // A write that blocked mid-record went out later with the same bytes.
  auto rest = slow.read_response();
  ASSERT_TRUE(rest);
  EXPECT_TRUE(rest->body == big_);
}

TEST_F(TlsServerTest, TlsClientsVanishingMidTransferLeakNothing) {
  start_tls();
  for (int round = 0; round < 20; ++round) {
    TestClient client(server_->tls_port(), 0, Wire::kTls);
    ASSERT_TRUE(client.send_all(get_request("/files/big.bin")));
    client.read_raw(1000 + static_cast<size_t>(round) * 20000);
    if (round % 2) {
      client.reset();
    } else {
      client.close();
    }
  }
  for (int round = 0; round < 10; ++round) {
    TestClient client(server_->tls_port(), 0, Wire::kTls);
    client.send_all("GET /files/big.bin HTTP/1.1\r\n");
  }
  TestClient last(server_->tls_port(), 0, Wire::kTls);
  ASSERT_TRUE(last.send_all(get_request("/files/big.bin")));
  auto response = last.read_response();
  ASSERT_TRUE(response);
  EXPECT_TRUE(response->body == big_);
  last.close();
  expect_fds_back_to_baseline();
}

TEST_F(TlsServerTest, AMismatchedCertificateAndKeyIsRefusedAtStart) {
  testing::TempDir one, other;
  ASSERT_OK(ensure_tls_identity(one.path(), {"localhost"}));
  ASSERT_OK(ensure_tls_identity(other.path(), {"localhost"}));
  ServerOptions options;
  options.tls = TlsListenOptions{.certificate_file = tls_certificate_path(one.path()),
                                 .key_file = tls_key_path(other.path())};
  auto started = HttpServer::start(options, Router());
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("is not for the key"), std::string::npos)
      << started.error().message;
}

}  // namespace
}  // namespace goldroot::server

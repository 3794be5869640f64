#include "boot/http_fetch.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/testing/testing.h"
#include "crypto/tls_identity.h"
#include "server/http_server.h"

namespace goldroot::boot {
namespace {

TEST(ResolveUrl, ManifestRelativeReferences) {
  const std::string manifest = "http://10.0.0.1:8080/api/v1/boot/52:54:00:aa:00:01";
  EXPECT_EQ(resolve_url(manifest, "/images/ab.erofs"), "http://10.0.0.1:8080/images/ab.erofs");
  EXPECT_EQ(resolve_url(manifest, "other"), "http://10.0.0.1:8080/api/v1/boot/other");
  EXPECT_EQ(resolve_url(manifest, "http://mirror/x.erofs"), "http://mirror/x.erofs");
  EXPECT_EQ(resolve_url("http://10.0.0.1:8080/", "/layers/pc01.tar"),
            "http://10.0.0.1:8080/layers/pc01.tar");
  EXPECT_EQ(resolve_url("http://10.0.0.1:8080", "/layers/pc01.tar"),
            "http://10.0.0.1:8080/layers/pc01.tar");
}

TEST(FetchText, AnUnreachableServerIsAnIoErrorNamingTheUrl) {
  http_global_init();
  // Port 1 on loopback: nothing listens there, so the connection is refused.
  auto result = fetch_text("http://127.0.0.1:1/api/v1/boot/x", 1024, {.connect_timeout_seconds = 2});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kIo);
  EXPECT_NE(result.error().message.find("http://127.0.0.1:1/api/v1/boot/x"), std::string::npos);
}

TEST(FetchText, PrivilegedSourcePortWhenRootElseAnOrdinaryOne) {
  http_global_init();
  server::Router router;
  router.add_exact("/port", [](const server::HttpRequest& request) {
    return server::HttpResponse::text(200, std::to_string(request.remote_port));
  });
  ASSERT_OK_AND_ASSIGN(auto http, server::HttpServer::start({.threads = 1}, std::move(router)));
  std::string url = "http://127.0.0.1:" + std::to_string(http->port()) + "/port";
  ASSERT_OK_AND_ASSIGN(std::string port, fetch_text(url, 64, {.privileged_source_port = true}));
  if (::geteuid() == 0) {
    EXPECT_LT(std::stoi(port), 1024);
    EXPECT_GE(std::stoi(port), 600);
  } else {
    EXPECT_GE(std::stoi(port), 1024);  // fell back: no privilege to bind one
  }
  ASSERT_OK_AND_ASSIGN(port, fetch_text(url, 64));
  EXPECT_GE(std::stoi(port), 1024);
  http->stop();
}

// A server with a TLS listener on a fresh identity in `keys`.
std::unique_ptr<server::HttpServer> start_tls_server(const testing::TempDir& keys) {
  EXPECT_OK(ensure_tls_identity(keys.path(), {"localhost", "127.0.0.1"}));
  server::Router router;
  router.add_exact("/wire", [](const server::HttpRequest& request) {
    return server::HttpResponse::text(
        200, std::string(request.secure ? "tls" : "plain") + " " + std::to_string(request.remote_port));
  });
  router.add_exact("/to-plain", [](const server::HttpRequest& request) {
    return server::HttpResponse::text(302, "")
        .with_header("Location", "http://" + *request.header("host") + "/wire");
  });
  server::ServerOptions options{.threads = 1};
  options.tls = server::TlsListenOptions{.certificate_file = tls_certificate_path(keys.path()),
                                         .key_file = tls_key_path(keys.path())};
  auto started = server::HttpServer::start(options, std::move(router));
  EXPECT_OK(started);
  return started.ok() ? std::move(started).value() : nullptr;
}

TEST(FetchText, HttpsOnlyWithTheServersPinnedKeyNeverWithoutOne) {
  http_global_init();
  testing::TempDir keys, other;
  auto http = start_tls_server(keys);
  ASSERT_TRUE(http);
  ASSERT_OK(ensure_tls_identity(other.path(), {"localhost"}));
  ASSERT_OK_AND_ASSIGN(std::string pin, tls_public_key_pin(keys.path()));
  ASSERT_OK_AND_ASSIGN(std::string wrong_pin, tls_public_key_pin(other.path()));
  std::string url = "https://127.0.0.1:" + std::to_string(http->tls_port()) + "/wire";

  // The certificate is self-signed: only the pin makes it trusted.
  ASSERT_OK_AND_ASSIGN(std::string answer, fetch_text(url, 64, {.pinned_public_key = pin}));
  EXPECT_TRUE(answer.starts_with("tls ")) << answer;
  // With peer verification off, libcurl still refuses a key that is not the pinned one.
  auto impostor = fetch_text(url, 64, {.pinned_public_key = wrong_pin});
  ASSERT_FALSE(impostor.ok());
  EXPECT_EQ(impostor.error().code, ErrorCode::kIo);
  EXPECT_NE(impostor.error().message.find("pinned public key"), std::string::npos)
      << impostor.error().message;
  // No pin: one sentence, and no connection made.
  auto unpinned = fetch_text(url, 64);
  ASSERT_FALSE(unpinned.ok());
  EXPECT_EQ(unpinned.error().message, "refusing " + url + " without the server's pinned key");
  // A redirect may not leave TLS.
  std::string redirect = "https://127.0.0.1:" + std::to_string(http->tls_port()) + "/to-plain";
  auto downgraded = fetch_text(redirect, 64, {.pinned_public_key = pin});
  EXPECT_FALSE(downgraded.ok());
  // The layer's privileged source port works over TLS too.
  if (::geteuid() == 0) {
    ASSERT_OK_AND_ASSIGN(answer, fetch_text(url, 64, {.privileged_source_port = true,
                                                      .pinned_public_key = pin}));
    EXPECT_LT(std::stoi(answer.substr(4)), 1024) << answer;
  }
  // Plain http needs no pin, with or without one given.
  std::string plain = "http://127.0.0.1:" + std::to_string(http->port()) + "/wire";
  ASSERT_OK_AND_ASSIGN(answer, fetch_text(plain, 64, {.pinned_public_key = pin}));
  EXPECT_TRUE(answer.starts_with("plain ")) << answer;
  http->stop();
}

TEST(FetchRangeToFd, AnImageOverHttpsArrivesWholeAndResumes) {
  http_global_init();
  testing::TempDir keys, files;
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) >> 3);
  testing::write_file(files / "image.erofs", data);
  ASSERT_OK(ensure_tls_identity(keys.path(), {"localhost"}));
  server::Router router;
  router.add_exact("/image.erofs", [&files](const server::HttpRequest&) {
    return server::HttpResponse::open_file(files / "image.erofs");
  });
  server::ServerOptions options{.threads = 1};
  options.tls = server::TlsListenOptions{.certificate_file = tls_certificate_path(keys.path()),
                                         .key_file = tls_key_path(keys.path())};
  ASSERT_OK_AND_ASSIGN(auto http, server::HttpServer::start(options, std::move(router)));
  ASSERT_OK_AND_ASSIGN(std::string pin, tls_public_key_pin(keys.path()));
  std::string url = "https://127.0.0.1:" + std::to_string(http->tls_port()) + "/image.erofs";
  UniqueFd out(::open((files / "copy").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  ASSERT_TRUE(out.valid());
  ASSERT_OK_AND_ASSIGN(RangeResult first,
                       fetch_range_to_fd(url, 0, 1 << 20, out.get(), {.pinned_public_key = pin}));
  EXPECT_EQ(first.written, 1u << 20);
  EXPECT_TRUE(first.truncated);
  ASSERT_OK_AND_ASSIGN(RangeResult rest, fetch_range_to_fd(url, 1 << 20, data.size(), out.get(),
                                                           {.pinned_public_key = pin}));
  EXPECT_EQ(rest.status, 206);
  out.reset();
  EXPECT_TRUE(testing::read_file(files / "copy") == data);
  http->stop();
}

}  // namespace
}  // namespace goldroot::boot

#include "boot/http_fetch.h"

#include <unistd.h>

#include "base/testing/testing.h"
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

}  // namespace
}  // namespace goldroot::boot

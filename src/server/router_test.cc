#include "server/router.h"

#include <gtest/gtest.h>

namespace goldroot::server {
namespace {

HttpResponse says(const char* text) { return HttpResponse::text(200, text); }

HttpRequest get(const char* path) {
  HttpRequest request;
  request.method = "GET";
  request.path = path;
  return request;
}

TEST(Router, ExactThenLongestPrefix) {
  Router router;
  router.add_prefix("/a/", [](const HttpRequest&) { return says("a"); });
  router.add_prefix("/a/b/", [](const HttpRequest&) { return says("ab"); });
  router.add_exact("/a/b/c", [](const HttpRequest&) { return says("exact"); });
  EXPECT_EQ(router.route(get("/a/b/c")).body(), "exact");
  EXPECT_EQ(router.route(get("/a/b/d")).body(), "ab");
  EXPECT_EQ(router.route(get("/a/x")).body(), "a");
  EXPECT_EQ(router.route(get("/z")).status(), 404);
}

// A later service takes a prefix over and hands on what it does not answer.
TEST(Router, PrefixTakenOverKeepsThePreviousHandler) {
  Router router;
  router.add_prefix("/hosts/", [](const HttpRequest&) { return says("changes"); });
  Handler previous = router.prefix_handler("/hosts/");
  ASSERT_TRUE(previous);
  EXPECT_FALSE(router.prefix_handler("/other/"));
  router.add_prefix("/hosts/", [previous](const HttpRequest& request) {
    if (request.path.ends_with("/mode")) return says("mode");
    return previous(request);
  });
  EXPECT_EQ(router.route(get("/hosts/pc01/mode")).body(), "mode");
  EXPECT_EQ(router.route(get("/hosts/pc01/changes")).body(), "changes");
}

}  // namespace
}  // namespace goldroot::server

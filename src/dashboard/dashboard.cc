#include "dashboard/dashboard.h"

#include <string>

#include "base/strings.h"

namespace goldroot {

namespace {

const char* content_type_of(std::string_view name) {
  if (ends_with(name, ".html")) return "text/html; charset=utf-8";
  if (ends_with(name, ".js")) return "text/javascript; charset=utf-8";
  if (ends_with(name, ".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

server::HttpResponse serve(std::string_view name) {
  std::string_view body = dashboard_file(name);
  if (body.empty()) return server::HttpResponse::error(404);
  // No-store: the files change with the binary, and they are small.
  return server::HttpResponse::text(200, std::string(body), content_type_of(name))
      .with_cache(server::CachePolicy::kNoStore);
}

}  // namespace

void install_dashboard(server::Router& router) {
  router.add_exact("/", [](const server::HttpRequest&) { return serve("index.html"); });
  router.add_prefix("/dashboard/", [](const server::HttpRequest& request) {
    std::string_view name = std::string_view(request.path).substr(sizeof("/dashboard/") - 1);
    if (name == "index.html") return server::HttpResponse::error(404);  // it lives at /
    return serve(name);
  });
}

}  // namespace goldroot

#include "server/router.h"

#include <algorithm>

#include "base/strings.h"

namespace goldroot::server {

void Router::add_exact(std::string path, Handler handler, size_t max_body) {
  exact_[std::move(path)] = Route{std::move(handler), max_body};
}

void Router::add_prefix(std::string prefix, Handler handler, size_t max_body) {
  for (auto& [existing, route] : prefixes_)
    if (existing == prefix) {
      route = Route{std::move(handler), max_body};
      return;
    }
  prefixes_.emplace_back(std::move(prefix), Route{std::move(handler), max_body});
  std::stable_sort(prefixes_.begin(), prefixes_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

Handler Router::prefix_handler(const std::string& prefix) const {
  for (const auto& [existing, route] : prefixes_)
    if (existing == prefix) return route.handler;
  return {};
}

void Router::add_upload(std::string prefix, UploadHandler handler) {
  uploads_.emplace_back(std::move(prefix), std::move(handler));
}

const UploadHandler* Router::upload_handler(const std::string& path) const {
  for (const auto& [prefix, handler] : uploads_)
    if (starts_with(path, prefix)) return &handler;
  return nullptr;
}

const Router::Route* Router::find(const std::string& path) const {
  if (auto found = exact_.find(path); found != exact_.end()) return &found->second;
  for (const auto& [prefix, route] : prefixes_)
    if (starts_with(path, prefix)) return &route;
  return nullptr;
}

HttpResponse Router::route(const HttpRequest& request) const {
  const Route* route = find(request.path);
  return route ? route->handler(request) : HttpResponse::error(404);
}

size_t Router::max_body(const std::string& path) const {
  const Route* route = find(path);
  return route ? route->max_body : 0;
}

}  // namespace goldroot::server

#include "server/router.h"

#include <algorithm>

#include "base/strings.h"

namespace goldroot::server {

void Router::add_exact(std::string path, Handler handler) {
  exact_[std::move(path)] = std::move(handler);
}

void Router::add_prefix(std::string prefix, Handler handler) {
  for (auto& [existing, existing_handler] : prefixes_)
    if (existing == prefix) {
      existing_handler = std::move(handler);
      return;
    }
  prefixes_.emplace_back(std::move(prefix), std::move(handler));
  std::stable_sort(prefixes_.begin(), prefixes_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

Handler Router::prefix_handler(const std::string& prefix) const {
  for (const auto& [existing, handler] : prefixes_)
    if (existing == prefix) return handler;
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

HttpResponse Router::route(const HttpRequest& request) const {
  if (auto found = exact_.find(request.path); found != exact_.end()) return found->second(request);
  for (const auto& [prefix, handler] : prefixes_)
    if (starts_with(request.path, prefix)) return handler(request);
  return HttpResponse::error(404);
}

}  // namespace goldroot::server

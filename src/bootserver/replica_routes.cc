#include "bootserver/replica_routes.h"

#include <nlohmann/json.hpp>

namespace goldroot {

namespace {

using server::HttpRequest;
using server::HttpResponse;

constexpr std::string_view kFilesPrefix = "/api/v1/replica/files/";

HttpResponse json_error(int status, const std::string& message) {
  return HttpResponse::json(status, nlohmann::json{{"error", message}}.dump());
}

// The replica routes answer only over TLS and only GET/HEAD.
std::optional<HttpResponse> refuse(const HttpRequest& request) {
  if (!request.secure)
    return json_error(403, "the replica routes answer over TLS only (serve --tls-listen): "
                           "the site's layers and store would cross the network in clear");
  if (request.method != "GET" && request.method != "HEAD")
    return json_error(405, "the replica routes answer GET only");
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<ReplicaRoutes>> ReplicaRoutes::open(const std::string& site_root,
                                                           AdminAuth* admin) {
  auto files = TRY(server::StaticFiles::open(site_root, std::string(kFilesPrefix),
                                                server::CachePolicy::kNone,
                                                server::Symlinks::kRefuse));
  return std::unique_ptr<ReplicaRoutes>(new ReplicaRoutes(site_root, admin, std::move(files)));
}

HttpResponse ReplicaRoutes::index() {
  auto files = list_replica_set(site_root_, &digests_);
  if (!files.ok()) return json_error(500, files.error().message);
  return HttpResponse::json(200, index_to_json(*files));
}

HttpResponse ReplicaRoutes::file(const HttpRequest& request) const {
  std::string relative = request.path.substr(kFilesPrefix.size());
  if (!is_replicated(relative)) return json_error(404, "no replicated file " + relative);
  return files_->serve(request);
}

void ReplicaRoutes::install(server::Router& router) {
  router.add_exact("/api/v1/replica/index", [this](const HttpRequest& request) {
    if (auto refusal = refuse(request)) return std::move(*refusal);
    return HttpResponse::later(
        [this, request] { return admin_->answer(request, [this](const HttpRequest&) { return index(); }); });
  });
  router.add_prefix(std::string(kFilesPrefix), [this](const HttpRequest& request) {
    if (auto refusal = refuse(request)) return std::move(*refusal);
    return admin_->answer(request, [this](const HttpRequest& request) { return file(request); });
  });
}

}  // namespace goldroot

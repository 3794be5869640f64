#include "bootserver/admin_routes.h"

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/strings.h"
#include "bootserver/boot_service.h"
#include "fleet/assignment.h"
#include "fleet/boot_mode.h"
#include "fleet/effective.h"

namespace goldroot {

using server::CachePolicy;
using server::HttpRequest;
using server::HttpResponse;

namespace {

constexpr size_t kMaxModeBody = 4096;

HttpResponse json_ok(const nlohmann::json& body) {
  return HttpResponse::json(200, body.dump(2) + "\n").with_cache(CachePolicy::kNoStore);
}

// The "mode" of a {"mode": "..."} body, or the 400 to answer.
Result<std::string> mode_of(const HttpRequest& request) {
  nlohmann::json body = parse_untrusted_json(request.body);
  if (body.is_discarded() || !body.is_object())
    return make_error(ErrorCode::kInvalidArgument,
                      "the body must be a JSON object such as {\"mode\": \"reset\"}");
  auto mode = body.find("mode");
  if (mode == body.end() || !mode->is_string())
    return make_error(ErrorCode::kInvalidArgument,
                      "the body needs \"mode\": one of normal, reset, maintenance, cache, "
                      "install, shell, or \"\" to inherit");
  return mode->get<std::string>();
}

HttpResponse error_response(const Error& error) {
  switch (error.code) {
    case ErrorCode::kNotFound:
      return json_error(404, error.message);
    case ErrorCode::kInvalidArgument:
      return json_error(400, error.message);
    default:
      return json_error(503, error.message);
  }
}

std::optional<std::string> mode_name(const std::optional<BootMode>& mode) {
  if (!mode) return std::nullopt;
  return std::string(boot_mode_name(*mode));
}

nlohmann::json or_null(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

}  // namespace

Result<std::unique_ptr<AdminRoutes>> AdminRoutes::open(Site* site, AdminAuth* admin) {
  Inventory inventory = TRY(Inventory::open(site->database_path()));
  return std::unique_ptr<AdminRoutes>(new AdminRoutes(site, admin, std::move(inventory)));
}

HttpResponse AdminRoutes::labs() {
  std::lock_guard lock(inventory_mutex_);
  auto transaction = inventory_.begin_read();
  if (!transaction.ok()) return json_error(503, transaction.error().message);
  auto labs = inventory_.labs();
  if (!labs.ok()) return json_error(500, labs.error().message);
  nlohmann::json out = nlohmann::json::array();
  for (const Lab& lab : *labs)
    out.push_back({{"name", lab.name},
                   {"mode", or_null(mode_name(lab.mode))},
                   {"effective_mode", boot_mode_name(lab.mode.value_or(BootMode::kNormal))},
                   {"channel", or_null(lab.channel)}});
  return json_ok(out);
}

HttpResponse AdminRoutes::set_host_mode(const std::string& name, const HttpRequest& request) {
  if (request.method != "POST") return json_error(405, "set a host's mode with POST");
  auto mode = mode_of(request);
  if (!mode.ok()) return error_response(mode.error());
  std::lock_guard lock(inventory_mutex_);
  auto transaction = inventory_.begin_write();
  if (!transaction.ok()) return json_error(503, transaction.error().message);
  auto host = inventory_.find_host(name);
  if (!host.ok()) return error_response(host.error());
  if (!*host) return json_error(404, "there is no host " + name);
  // As `goldroot host set NAME mode=X`.
  Host after = **host;
  if (auto applied = apply(after, Assignment{"mode", *mode}, site_->store()); !applied.ok())
    return error_response(applied.error());
  if (auto updated = inventory_.update_host(name, after); !updated.ok())
    return error_response(updated.error());
  std::optional<Lab> lab;
  if (after.lab) {
    auto found = inventory_.find_lab(*after.lab);
    if (found.ok()) lab = *found;
  }
  if (auto committed = transaction->commit(); !committed.ok())
    return json_error(503, committed.error().message);
  EffectiveMode effective = effective_mode(after, lab ? &*lab : nullptr);
  return json_ok({{"host", name},
                  {"mode", or_null(mode_name(after.mode))},
                  {"effective_mode", boot_mode_name(effective.mode)}});
}

HttpResponse AdminRoutes::set_lab_mode(const std::string& name, const HttpRequest& request) {
  if (request.method != "POST") return json_error(405, "set a lab's mode with POST");
  auto mode = mode_of(request);
  if (!mode.ok()) return error_response(mode.error());
  std::lock_guard lock(inventory_mutex_);
  auto transaction = inventory_.begin_write();
  if (!transaction.ok()) return json_error(503, transaction.error().message);
  auto lab = inventory_.find_lab(name);
  if (!lab.ok()) return error_response(lab.error());
  if (!*lab) return json_error(404, "there is no lab " + name);
  // As `goldroot lab set LAB mode=X`.
  if (auto applied = apply(**lab, Assignment{"mode", *mode}, site_->store()); !applied.ok())
    return error_response(applied.error());
  if (auto updated = inventory_.update_lab(**lab); !updated.ok())
    return error_response(updated.error());
  // Hosts with a mode of their own keep it; the dashboard says how many.
  auto hosts = inventory_.hosts(name);
  if (!hosts.ok()) return error_response(hosts.error());
  size_t own_mode = 0;
  for (const Host& host : *hosts)
    if (host.mode) ++own_mode;
  if (auto committed = transaction->commit(); !committed.ok())
    return json_error(503, committed.error().message);
  return json_ok({{"lab", name},
                  {"mode", or_null(mode_name((*lab)->mode))},
                  {"effective_mode", boot_mode_name((*lab)->mode.value_or(BootMode::kNormal))},
                  {"hosts", hosts->size()},
                  {"hosts_with_own_mode", own_mode}});
}

// Changes write to SQLite, which may wait on another writer: they run on the
// blocking pool, not the event loop. The whole guarded answer goes there so
// that the audit log records the status the change really got.
HttpResponse AdminRoutes::answer_later(const HttpRequest& request, server::Handler handler) {
  return HttpResponse::later([this, request, handler = std::move(handler)] {
    return admin_->answer(request, handler);
  });
}

void AdminRoutes::install(server::Router& router) {
  router.add_exact("/api/v1/labs", admin_->guard([this](const HttpRequest&) { return labs(); }));
  router.add_prefix("/api/v1/labs/", [this](const HttpRequest& request) {
    return answer_later(request, [this](const HttpRequest& request) {
      std::string rest = request.path.substr(std::string("/api/v1/labs/").size());
      if (!ends_with(rest, "/mode") || rest.size() == 5)
        return json_error(404, "no such endpoint; try POST /api/v1/labs/NAME/mode");
      return set_lab_mode(rest.substr(0, rest.size() - 5), request);
    });
  }, kMaxModeBody);
  server::Handler other_host_routes = router.prefix_handler("/api/v1/hosts/");
  router.add_prefix("/api/v1/hosts/", [this, other_host_routes](const HttpRequest& request) {
    std::string rest = request.path.substr(std::string("/api/v1/hosts/").size());
    if (ends_with(rest, "/mode") && rest.size() > 5) {
      std::string host = rest.substr(0, rest.size() - 5);
      return answer_later(request, [this, host](const HttpRequest& request) {
        return set_host_mode(host, request);
      });
    }
    if (other_host_routes) return other_host_routes(request);
    return json_error(404, "no such endpoint; try POST /api/v1/hosts/NAME/mode");
  }, kMaxModeBody);
}

}  // namespace goldroot

#include "bootserver/admin_routes.h"

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "base/strings.h"
#include "bootserver/boot_service.h"
#include "fleet/assignment.h"
#include "fleet/boot_mode.h"
#include "fleet/effective.h"
#include "fleet/host_keys.h"

namespace goldroot {

using server::CachePolicy;
using server::HttpRequest;
using server::HttpResponse;

namespace {

constexpr size_t kMaxBody = 4096;  // a mode or a key id

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

bool is_key_id(const std::string& text) {
  return text.size() == 16 && text.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

// The "key_id" of a {"key_id": "1a2b3c4d5e6f7a8b"} body, lowercased, or the
// 400 to answer.
Result<std::string> key_id_of(const HttpRequest& request) {
  nlohmann::json body = parse_untrusted_json(request.body);
  if (body.is_discarded() || !body.is_object())
    return make_error(ErrorCode::kInvalidArgument,
                      "the body must be a JSON object such as {\"key_id\": \"1a2b3c4d5e6f7a8b\"}");
  auto key_id = body.find("key_id");
  if (key_id == body.end() || !key_id->is_string() || !is_key_id(key_id->get<std::string>()))
    return make_error(ErrorCode::kInvalidArgument,
                      "the body needs \"key_id\": the 16 hex digits of the key the host shows "
                      "on its screen");
  return lowercase(key_id->get<std::string>());
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
  Inventory inventory = TRY(Inventory::open(site->database()));
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

HttpResponse AdminRoutes::change_host(const std::string& name,
                                      const std::function<HttpResponse(const Host&)>& change) {
  std::lock_guard lock(inventory_mutex_);
  auto transaction = inventory_.begin_write();
  if (!transaction.ok()) return json_error(503, transaction.error().message);
  auto host = inventory_.find_host(name);
  if (!host.ok()) return error_response(host.error());
  if (!*host) return json_error(404, "there is no host " + name);
  HttpResponse answer = change(**host);
  if (answer.status() / 100 != 2) return answer;  // the transaction rolls back
  if (auto committed = transaction->commit(); !committed.ok())
    return json_error(503, committed.error().message);
  return answer;
}

HttpResponse AdminRoutes::set_host_mode(const std::string& name, const HttpRequest& request) {
  if (request.method != "POST") return json_error(405, "set a host's mode with POST");
  auto mode = mode_of(request);
  if (!mode.ok()) return error_response(mode.error());
  return change_host(name, [&](const Host& host) {
    // As `goldroot host set NAME mode=X`.
    Host after = host;
    if (auto applied = apply(after, Assignment{"mode", *mode}, site_->store()); !applied.ok())
      return error_response(applied.error());
    if (auto updated = inventory_.update_host(name, after); !updated.ok())
      return error_response(updated.error());
    std::optional<Lab> lab;
    if (after.lab) {
      auto found = inventory_.find_lab(*after.lab);
      if (found.ok()) lab = *found;
    }
    EffectiveMode effective = effective_mode(after, lab ? &*lab : nullptr);
    return json_ok({{"host", name},
                    {"mode", or_null(mode_name(after.mode))},
                    {"effective_mode", boot_mode_name(effective.mode)}});
  });
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
  return HttpResponse::later(
      [this, request, handler = std::move(handler)] { return admin_->answer(request, handler); });
}

HttpResponse AdminRoutes::enroll_host(const std::string& name, const HttpRequest& request) {
  if (request.method != "POST") return json_error(405, "enroll a host's key with POST");
  auto key_id = key_id_of(request);
  if (!key_id.ok()) return error_response(key_id.error());
  return change_host(name, [&](const Host&) {
    HostKeys keys(inventory_.database());
    auto before = keys.find(name);
    if (!before.ok()) return error_response(before.error());
    if (!*before || !(*before)->pending) {
      std::string enrolled =
          *before && (*before)->key ? "; its key " + (*before)->key->key_id() + " is enrolled" : "";
      return json_error(409, "host " + name + " has no key waiting for approval" + enrolled);
    }
    // As `goldroot host enroll NAME --key-id ID`: only the pending key, and
    // only if it is the one the admin saw, not one presented since.
    auto enrolled = keys.enroll(name, std::nullopt, *key_id, site_->env()->now_seconds());
    if (!enrolled.ok()) {
      // The key differs, was revoked or is another host's: the state, not the request, is wrong.
      if (enrolled.error().code == ErrorCode::kInvalidArgument ||
          enrolled.error().code == ErrorCode::kAlreadyExists)
        return json_error(409, enrolled.error().message);
      return error_response(enrolled.error());
    }
    return json_ok({{"host", name}, {"key_id", *key_id}});
  });
}

HttpResponse AdminRoutes::rekey_host(const std::string& name, const HttpRequest& request) {
  if (request.method != "POST") return json_error(405, "revoke a host's key with POST");
  nlohmann::json body = parse_untrusted_json(request.body);
  if (body.is_discarded() || !body.is_object())
    return json_error(400, "the body must be a JSON object: {}");
  return change_host(name, [&](const Host&) {
    // As `goldroot host rekey NAME`: a pending key is forgotten too.
    HostKeys keys(inventory_.database());
    auto before = keys.find(name);
    if (!before.ok()) return error_response(before.error());
    if (auto revoked = keys.rekey(name, site_->env()->now_seconds()); !revoked.ok())
      return error_response(revoked.error());
    std::optional<std::string> revoked;
    if (*before && (*before)->key) revoked = (*before)->key->key_id();
    return json_ok({{"host", name}, {"revoked", or_null(revoked)}});
  });
}

void AdminRoutes::install(server::Router& router) {
  router.add_exact("/api/v1/labs", admin_->guard([this](const HttpRequest&) { return labs(); }));
  router.add_prefix(
      "/api/v1/labs/",
      [this](const HttpRequest& request) {
        return answer_later(request, [this](const HttpRequest& request) {
          std::string rest = request.path.substr(std::string("/api/v1/labs/").size());
          if (!ends_with(rest, "/mode") || rest.size() == 5)
            return json_error(404, "no such endpoint; try POST /api/v1/labs/NAME/mode");
          return set_lab_mode(rest.substr(0, rest.size() - 5), request);
        });
      },
      kMaxBody);
  // POST /api/v1/hosts/NAME/<action>; anything else goes to the routes that were there.
  using HostAction = HttpResponse (AdminRoutes::*)(const std::string&, const HttpRequest&);
  static const std::pair<std::string_view, HostAction> kHostActions[] = {
      {"/mode", &AdminRoutes::set_host_mode},
      {"/enroll", &AdminRoutes::enroll_host},
      {"/rekey", &AdminRoutes::rekey_host},
  };
  server::Handler other_host_routes = router.prefix_handler("/api/v1/hosts/");
  router.add_prefix(
      "/api/v1/hosts/",
      [this, other_host_routes](const HttpRequest& request) {
        std::string rest = request.path.substr(std::string("/api/v1/hosts/").size());
        for (const auto& host_action : kHostActions) {
          std::string_view suffix = host_action.first;
          if (!ends_with(rest, suffix) || rest.size() == suffix.size()) continue;
          std::string host = rest.substr(0, rest.size() - suffix.size());
          HostAction action = host_action.second;
          return answer_later(request, [this, host, action](const HttpRequest& request) {
            return (this->*action)(host, request);
          });
        }
        if (other_host_routes) return other_host_routes(request);
        return json_error(404, "no such endpoint; try POST /api/v1/hosts/NAME/{mode,enroll,rekey}");
      },
      kMaxBody);
}

}  // namespace goldroot

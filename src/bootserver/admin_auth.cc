#include "bootserver/admin_auth.h"

#include <ctime>

#include "base/hash.h"
#include "base/json.h"
#include "base/strings.h"
#include "bootserver/boot_service.h"
#include "crypto/hmac.h"
#include "net/address.h"

namespace goldroot {

using server::HttpRequest;
using server::HttpResponse;

namespace {

constexpr std::string_view kCookieName = "goldroot_session";
constexpr size_t kAuditedBody = 512;

bool changes_something(const HttpRequest& request) {
  return request.method != "GET" && request.method != "HEAD";
}

bool is_json(const HttpRequest& request) {
  const std::string* type = request.header("content-type");
  if (!type) return false;
  std::string_view media = *type;
  media = trim(media.substr(0, media.find(';')));
  return lowercase(media) == "application/json";
}

}  // namespace

bool is_loopback_address(const std::string& address) {
  return starts_with(address, "127.") || address == "::1" || starts_with(address, "::ffff:127.");
}

AdminAuth::AdminAuth(std::string token, AdminAuthOptions options)
    : token_(std::move(token)), options_(std::move(options)) {
  for (std::string& name : options_.server_names) name = lowercase(name);
}

Result<std::unique_ptr<AdminAuth>> AdminAuth::open(const std::string& keys_dir,
                                                   AdminAuthOptions options) {
  std::string token = TRY(load_or_create_secret(keys_dir + "/admin.token", 32));
  return std::unique_ptr<AdminAuth>(new AdminAuth(std::move(token), std::move(options)));
}

int64_t AdminAuth::now() const {
  return options_.now ? options_.now() : static_cast<int64_t>(::time(nullptr));
}

bool AdminAuth::known_name(std::string_view host) const {
  std::string name = lowercase(host);
  for (const std::string& known : options_.server_names)
    if (known == name) return true;
  return false;
}

std::optional<std::string> AdminAuth::session_cookie(const HttpRequest& request) {
  const std::string* cookies = request.header("cookie");
  if (!cookies) return std::nullopt;
  for (const std::string& part : split(*cookies, ';')) {
    std::string_view pair = trim(part);
    if (starts_with(pair, kCookieName) && pair.size() > kCookieName.size() &&
        pair[kCookieName.size()] == '=')
      return std::string(pair.substr(kCookieName.size() + 1));
  }
  return std::nullopt;
}

std::optional<std::string> AdminAuth::caller(const HttpRequest& request) {
  if (const std::string* header = request.header("authorization")) {
    std::string_view value = *header;
    if (starts_with(value, "Bearer ") && constant_time_equal(trim(value.substr(7)), token_))
      return "admin token";
    return std::nullopt;  // a wrong token is not rescued by a cookie
  }
  if (auto cookie = session_cookie(request)) {
    std::string key = Sha256::of(*cookie).hex();
    std::lock_guard lock(mutex_);
    auto found = sessions_.find(key);
    if (found != sessions_.end()) {
      if (found->second.expires_at > now()) return "session " + key.substr(0, 8);
      sessions_.erase(found);
    }
  }
  if (options_.loopback == LoopbackExempt::kYes && is_loopback_address(request.remote_address))
    return "loopback";
  return std::nullopt;
}

void AdminAuth::audit(const HttpRequest& request, const std::string& who, int status,
                      const std::string& what) {
  if (!options_.audit) return;
  nlohmann::json line = {{"time", server::iso_time_now()},
                         {"who", who},
                         {"from", request.remote_address},
                         {"method", request.method},
                         {"path", request.path},
                         {"status", status}};
  if (!what.empty()) {
    line["what"] = what;
  } else if (!request.body.empty()) {
    line["what"] = request.body.substr(0, kAuditedBody);
  }
  options_.audit->append(line);
}

HttpResponse AdminAuth::refuse(const HttpRequest& request, int status, const std::string& message) {
  audit(request, "-", status, message);
  return json_error(status, message);
}

std::optional<HttpResponse> AdminAuth::refuse_foreign_host(const HttpRequest& request) {
  const std::string* host = request.header("host");
  if (!host) return refuse(request, 400, "an admin request must name the server in its Host header");
  if (!known_name(host_of_authority(*host)))
    return refuse(request, 421,
                  "this server does not answer admin requests for '" + printable(*host) +
                      "'; add the name with 'goldroot serve --server-name'");
  return std::nullopt;
}

std::optional<HttpResponse> AdminAuth::refuse_foreign_change(const HttpRequest& request) {
  if (!is_json(request))
    return refuse(request, 415, "a change to the fleet must be sent as Content-Type: application/json");
  const std::string* origin = request.header("origin");
  const std::string* host = request.header("host");
  if (origin && *origin != "http://" + *host && *origin != "https://" + *host)
    return refuse(request, 403,
                  "a change from another site's page is refused (Origin '" + printable(*origin) +
                      "' is not this server)");
  return std::nullopt;
}

std::optional<HttpResponse> AdminAuth::deny(const HttpRequest& request) {
  if (auto refused = refuse_foreign_host(request)) return refused;
  std::optional<std::string> who = caller(request);
  if (!who) {
    if (request.header("authorization")) return refuse(request, 403, "the admin token is wrong");
    HttpResponse response = refuse(request, 401,
                                   "this endpoint needs the admin: log in on the dashboard, or "
                                   "send 'Authorization: Bearer <SITE/keys/admin.token>'");
    return std::move(response).with_header("WWW-Authenticate", "Bearer");
  }
  if (!changes_something(request)) return std::nullopt;
  if (auto refused = refuse_foreign_change(request)) return refused;
  if (!request.header("origin") && starts_with(*who, "session "))
    return refuse(request, 403, "a change from the dashboard must carry its Origin");
  return std::nullopt;
}

HttpResponse AdminAuth::answer(const HttpRequest& request, const server::Handler& handler) {
  if (auto denied = deny(request)) return std::move(*denied);
  HttpResponse response = handler(request);
  if (changes_something(request)) audit(request, caller(request).value_or("-"), response.status());
  return response;
}

server::Handler AdminAuth::guard(server::Handler handler) {
  return [this, handler = std::move(handler)](const HttpRequest& request) {
    return answer(request, handler);
  };
}

HttpResponse AdminAuth::session(const HttpRequest& request) {
  // Over TLS the browser must never send it back in clear (to the plain
  // listener of the same host).
  auto cookie = [secure = request.secure](const std::string& value, int64_t max_age) {
    return std::string(kCookieName) + "=" + value + "; Path=/; HttpOnly; SameSite=Strict; " +
           (secure ? "Secure; " : "") + "Max-Age=" + std::to_string(max_age);
  };
  if (request.method == "GET" || request.method == "HEAD") {
    if (auto denied = deny(request)) return std::move(*denied);
    return HttpResponse::json(200, nlohmann::json({{"who", *caller(request)}}).dump() + "\n")
        .with_cache(server::CachePolicy::kNoStore);
  }
  if (request.method == "DELETE") {
    if (auto denied = deny(request)) return std::move(*denied);
    std::string who = *caller(request);
    if (auto value = session_cookie(request)) {
      std::lock_guard lock(mutex_);
      sessions_.erase(Sha256::of(*value).hex());
    }
    audit(request, who, 200, "logout");
    return HttpResponse::json(200, "{\"logged_out\": true}\n")
        .with_cache(server::CachePolicy::kNoStore)
        .with_header("Set-Cookie", cookie("", 0));
  }
  if (request.method != "POST")
    return json_error(405, "log in with POST, ask with GET, log out with DELETE");
  // Logging in: the same Host, type and Origin checks as any change, but
  // the credential is in the body.
  if (auto refused = refuse_foreign_host(request)) return std::move(*refused);
  if (auto refused = refuse_foreign_change(request)) return std::move(*refused);
  nlohmann::json body = parse_untrusted_json(request.body);
  if (!body.is_object() || !body.contains("token") || !body["token"].is_string())
    return refuse(request, 400, "log in with a JSON body {\"token\": \"<SITE/keys/admin.token>\"}");
  if (!constant_time_equal(trim(body["token"].get<std::string>()), token_))
    return refuse(request, 403, "the admin token is wrong");
  auto value = random_hex(32);
  if (!value.ok()) return json_error(500, value.error().message);
  std::string key = Sha256::of(*value).hex();
  int64_t expires_at = now() + options_.session_lifetime_seconds;
  {
    std::lock_guard lock(mutex_);
    for (auto it = sessions_.begin(); it != sessions_.end();)
      it = it->second.expires_at <= now() ? sessions_.erase(it) : std::next(it);
    while (sessions_.size() >= options_.max_sessions) {
      auto oldest = sessions_.begin();
      for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
        if (it->second.created_at < oldest->second.created_at) oldest = it;
      sessions_.erase(oldest);
    }
    sessions_[key] = Session{expires_at, now()};
  }
  audit(request, "session " + key.substr(0, 8), 200, "login");
  return HttpResponse::json(200, nlohmann::json({{"expires_at", expires_at}}).dump() + "\n")
      .with_cache(server::CachePolicy::kNoStore)
      .with_header("Set-Cookie", cookie(*value, options_.session_lifetime_seconds));
}

void AdminAuth::install(server::Router& router) {
  router.add_exact("/api/v1/session", [this](const HttpRequest& request) { return session(request); },
                   /*max_body=*/4096);
}

}  // namespace goldroot

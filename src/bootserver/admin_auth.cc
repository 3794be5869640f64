#include "bootserver/admin_auth.h"

#include "base/strings.h"
#include "bootserver/boot_service.h"
#include "crypto/hmac.h"

namespace goldroot {

bool is_loopback_address(const std::string& address) {
  return starts_with(address, "127.") || address == "::1" || starts_with(address, "::ffff:127.");
}

Result<AdminAuth> AdminAuth::open(const std::string& keys_dir, LoopbackExempt loopback) {
  std::string token = TRY(load_or_create_secret(keys_dir + "/admin.token", 32));
  return AdminAuth(std::move(token), loopback);
}

std::optional<server::HttpResponse> AdminAuth::deny(const server::HttpRequest& request) const {
  if (loopback_ == LoopbackExempt::kYes && is_loopback_address(request.remote_address))
    return std::nullopt;
  const std::string* header = request.header("authorization");
  if (!header)
    return json_error(401, "this endpoint needs the admin token: send 'Authorization: Bearer "
                           "<SITE/keys/admin.token>'")
        .with_header("WWW-Authenticate", "Bearer");
  std::string_view value = *header;
  if (!starts_with(value, "Bearer ") || !constant_time_equal(trim(value.substr(7)), token_))
    return json_error(403, "the admin token is wrong");
  return std::nullopt;
}

server::Handler AdminAuth::guard(server::Handler handler) const {
  return [this, handler = std::move(handler)](const server::HttpRequest& request) {
    if (auto denied = deny(request)) return std::move(*denied);
    return handler(request);
  };
}

}  // namespace goldroot

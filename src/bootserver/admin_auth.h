// AdminAuth: who may call the mutating and listing /api/v1 endpoints —
// a client sending "Authorization: Bearer <SITE/keys/admin.token>", or
// (unless turned off) any client on the loopback interface, where the
// admin's own tools run. Boot-time routes (/boot, /api/v1/boot, /images,
// /objects, /layers) and the agents' /api/v1/reports (signed per host) do
// not go through it.
//
// Immutable after open(); thread-safe.
#pragma once

#include <optional>
#include <string>

#include "base/result.h"
#include "server/router.h"

namespace goldroot {

enum class LoopbackExempt { kNo, kYes };

class AdminAuth {
 public:
  // Reads SITE/keys/admin.token, creating it (0600) on first use.
  static Result<AdminAuth> open(const std::string& keys_dir, LoopbackExempt loopback);

  // nullopt when `request` may go on; otherwise the 401/403 to answer.
  std::optional<server::HttpResponse> deny(const server::HttpRequest& request) const;
  // `handler`, behind this check.
  server::Handler guard(server::Handler handler) const;

  const std::string& token() const { return token_; }

 private:
  AdminAuth(std::string token, LoopbackExempt loopback)
      : token_(std::move(token)), loopback_(loopback) {}
  std::string token_;
  LoopbackExempt loopback_;
};

bool is_loopback_address(const std::string& address);

}  // namespace goldroot

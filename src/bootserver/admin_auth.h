// AdminAuth: who may call the admin's /api/v1 endpoints (listing, mode
// changes, changes of hosts), and the record of what they did.
//
// A request passes when all of these hold:
//  - its Host names this server (AdminAuthOptions::server_names, any
//    port): a DNS-rebound page reaching us under a foreign name gets 421;
//  - it carries a credential: "Authorization: Bearer <SITE/keys/admin.token>"
//    (the CLI, scripts), or the dashboard's session cookie (see below), or —
//    only with LoopbackExempt::kYes — it comes from loopback;
//  - if it changes something (any method but GET and HEAD): its body is
//    "Content-Type: application/json" (415 otherwise: a cross-site form or
//    text/plain "simple request" cannot send it without a CORS preflight,
//    which we never grant), and an Origin, when sent, is this server's own
//    scheme://Host (403 otherwise); a cookie-authenticated change must send
//    Origin, as every browser does.
//
// The dashboard logs in once: POST /api/v1/session {"token": "<admin
// token>"} sets an HttpOnly, SameSite=Strict cookie naming a random
// session (kept in memory, so a server restart logs everyone out) that
// expires after `session_lifetime`; GET /api/v1/session says whether the
// caller is logged in; DELETE /api/v1/session logs out.
//
// The audit log (one JSON object per line, see server/json_log.h) records
// every admin request that changes something or is refused, and every
// login and logout: when, who (the admin token, a session's short id, or
// the loopback exemption), from which address, what (method, path, body)
// and the answer's status.
//
// Immutable options after open(); thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "server/json_log.h"
#include "server/router.h"

namespace goldroot {

enum class LoopbackExempt { kNo, kYes };

struct AdminAuthOptions {
  LoopbackExempt loopback = LoopbackExempt::kNo;
  // Host names and addresses (no port, IPv6 without brackets) that name
  // this server; compared case-insensitively.
  std::vector<std::string> server_names = {"localhost", "127.0.0.1", "::1"};
  int64_t session_lifetime_seconds = 12 * 3600;
  size_t max_sessions = 1024;  // the oldest goes first
  server::JsonLog* audit = nullptr;  // borrowed; null: no audit log
  std::function<int64_t()> now;      // seconds since the epoch; default: the clock
};

class AdminAuth {
 public:
  // Reads SITE/keys/admin.token, creating it (0600) on first use.
  static Result<std::unique_ptr<AdminAuth>> open(const std::string& keys_dir,
                                                 AdminAuthOptions options);

  // nullopt when `request` may go on; otherwise the 400/401/403/415/421 to
  // answer. Refusals are audited.
  std::optional<server::HttpResponse> deny(const server::HttpRequest& request);
  // `handler`'s answer to `request` behind deny(); changes are audited
  // with their status.
  server::HttpResponse answer(const server::HttpRequest& request, const server::Handler& handler);
  // `handler`, behind answer().
  server::Handler guard(server::Handler handler);
  // Adds /api/v1/session (login, who am I, logout).
  void install(server::Router& router);

  const std::string& token() const { return token_; }

 private:
  AdminAuth(std::string token, AdminAuthOptions options);

  struct Session {
    int64_t expires_at = 0;
    int64_t created_at = 0;
  };
  // Who the request's credential names ("admin token", "session 1a2b3c4d",
  // "loopback"), or nullopt.
  std::optional<std::string> caller(const server::HttpRequest& request);
  // The session id of the request's cookie, if any.
  static std::optional<std::string> session_cookie(const server::HttpRequest& request);
  bool known_name(std::string_view host) const;
  // The checks before and after the credential: the Host names this server
  // (400/421); a change is JSON and from this server's own Origin, when one
  // is sent (415/403). The second needs the first's Host.
  std::optional<server::HttpResponse> refuse_foreign_host(const server::HttpRequest& request);
  std::optional<server::HttpResponse> refuse_foreign_change(const server::HttpRequest& request);
  void audit(const server::HttpRequest& request, const std::string& who, int status,
             const std::string& what = "");
  server::HttpResponse refuse(const server::HttpRequest& request, int status,
                              const std::string& message);
  server::HttpResponse session(const server::HttpRequest& request);
  int64_t now() const;

  std::string token_;
  AdminAuthOptions options_;
  std::mutex mutex_;
  std::map<std::string, Session> sessions_;  // by SHA-256 of the cookie's value
};

bool is_loopback_address(const std::string& address);

}  // namespace goldroot

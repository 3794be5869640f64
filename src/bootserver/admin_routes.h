// AdminRoutes: the mutating fleet API the dashboard uses, all admin-guarded
// (admin_auth.h):
//
//   GET  /api/v1/labs                 the labs with their own mode and channel
//   POST /api/v1/hosts/<name>/mode    {"mode": "reset"}: the host's boot mode
//   POST /api/v1/labs/<name>/mode     {"mode": "reset"}: the lab's boot mode
//   POST /api/v1/hosts/<name>/enroll  {"key_id": "1a2b3c4d5e6f7a8b"}: enrolls the
//                                     key the host presented, if it has that id
//                                     -> {"host", "key_id"}
//   POST /api/v1/hosts/<name>/rekey   {}: revokes the host's key, forgets a
//                                     pending one -> {"host", "revoked": id | null}
//
// A mode is one of boot_mode.h's names, or "" to inherit again (a host
// follows its lab, a lab falls back to normal). Each change is one SQLite
// transaction made with fleet/assignment.h or fleet/host_keys.h, as `goldroot
// host set NAME mode=X`, `goldroot lab set LAB mode=X`, `goldroot host enroll
// NAME --key-id ID` and `goldroot host rekey NAME` make it. Bad input gets 400
// (unknown mode, malformed body or key id) or 404 (unknown host or lab), and
// an enrolment the host's keys do not allow (no pending key, another id, a
// revoked key) 409, with {"error": "<one sentence>"}.
//
// Changes are answered (and audited) on the server's blocking pool, off the
// event loop (HttpResponse::later).
//
// install() takes over /api/v1/hosts/ and hands every path it does not
// answer to the handler that was there (the report service's changes).
// Handlers are thread-safe (one inventory connection under a mutex).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "bootserver/admin_auth.h"
#include "fleet/inventory.h"
#include "server/router.h"
#include "site/site.h"

namespace goldroot {

class AdminRoutes {
 public:
  static Result<std::unique_ptr<AdminRoutes>> open(Site* site, AdminAuth* admin);

  void install(server::Router& router);

 private:
  AdminRoutes(Site* site, AdminAuth* admin, Inventory inventory)
      : site_(site), admin_(admin), inventory_(std::move(inventory)) {}
  // `handler`'s answer to `request` behind the admin guard, made later.
  server::HttpResponse answer_later(const server::HttpRequest& request, server::Handler handler);
  server::HttpResponse labs();
  // `change`'s answer for host `name` (404 if there is none), made in one
  // write transaction under the inventory mutex, committed when it is a 2xx.
  server::HttpResponse change_host(const std::string& name,
                                   const std::function<server::HttpResponse(const Host&)>& change);
  server::HttpResponse set_host_mode(const std::string& host, const server::HttpRequest& request);
  server::HttpResponse set_lab_mode(const std::string& lab, const server::HttpRequest& request);
  server::HttpResponse enroll_host(const std::string& host, const server::HttpRequest& request);
  server::HttpResponse rekey_host(const std::string& host, const server::HttpRequest& request);

  Site* site_;
  AdminAuth* admin_;
  std::mutex inventory_mutex_;
  Inventory inventory_;
};

}  // namespace goldroot

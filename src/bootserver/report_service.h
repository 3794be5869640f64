// ReportService: the agents' side of `goldroot serve`, and the fleet API.
//
//   POST /api/v1/reports              an agent's signed report (report/report.h);
//                                     open to clients, checked per host
//   GET  /api/v1/status[?lab=L]       the fleet's status (fleet_status.h)   admin
//   GET  /api/v1/hosts/<name>/changes the host's last change list         admin
//   POST /api/v1/uploads/<command id> a host's upper layer, for an open
//                                     upload-upper command (report.h);
//                                     streamed to SITE/uploads/<id>.tar
//
// A report is accepted when its X-Goldroot-Signature is the signature of
// the body by the key enrolled for the host the report names
// (crypto/host_signature.h, fleet/host_keys.h), so a host cannot speak for
// another; replays are refused by sequence number (fleet/agent_store.h).
// An upload is accepted for an open command of its host, signed by that
// host's key over the command id; its content counts only when the host's
// signed result report names its sha256 (cli/capture_host.cc checks). It also runs the reset schedules once a minute
// (dirty_reset.h) on its own thread.
//
// Handlers are thread-safe (one inventory connection under a mutex).
#pragma once

#include <condition_variable>
#include <functional>
#include <optional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "bootserver/admin_auth.h"
#include "fleet/inventory.h"
#include "server/router.h"
#include "site/site.h"

namespace goldroot {

struct ReportServiceOptions {
  int64_t unseen_after = 0;  // seconds; 0: three of the host's reporting intervals
  bool run_schedules = true;
  // The pre-fetch order for a report's answer (BootService::prefetch_manifest):
  // (host, booted commit, challenge, now) -> signed manifest or nothing.
  // Unset: no pre-fetch orders.
  std::function<Result<std::optional<std::string>>(const std::string&, const std::string&,
                                                   const std::string&, int64_t)>
      prefetch_manifest;
};

class ReportService {
 public:
  static Result<std::unique_ptr<ReportService>> open(Site* site, AdminAuth* admin,
                                                     ReportServiceOptions options);
  ~ReportService();

  void install(server::Router& router);

 private:
  ReportService(Site* site, AdminAuth* admin, Inventory inventory, ReportServiceOptions options);
  // A 401/403 answer unless `signature` is `statement` signed by the key
  // enrolled for `host`. The caller holds inventory_mutex_.
  std::optional<server::HttpResponse> check_host_signature(const std::string& host,
                                                           const std::string& signature,
                                                           const std::string& statement);
  server::HttpResponse receive(const server::HttpRequest& request);
  server::HttpResponse status(const server::HttpRequest& request);
  server::HttpResponse changes(const std::string& host);
  server::UploadStart upload(const server::HttpRequest& head);
  void run_schedules();

  Site* site_;
  AdminAuth* admin_;
  std::mutex inventory_mutex_;
  Inventory inventory_;
  ReportServiceOptions options_;
  std::mutex stop_mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::thread scheduler_;
};

}  // namespace goldroot

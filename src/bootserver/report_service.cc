#include "bootserver/report_service.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "base/strings.h"
#include "bootserver/boot_service.h"
#include "fleet/dirty_reset.h"
#include "fleet/fleet_status.h"
#include "bootserver/upload_file.h"
#include "crypto/host_signature.h"
#include "fleet/host_keys.h"
#include "fleet/agent_store.h"
#include "fleet/unregistered.h"
#include "report/report.h"

namespace goldroot {

using server::HttpRequest;
using server::HttpResponse;

namespace {
// How soon a maintenance host's agent reports again, whatever its interval.
constexpr int64_t kMaintenanceReportSeconds = 2;
}  // namespace

ReportService::ReportService(Site* site, AdminAuth* admin, Inventory inventory,
                             ReportServiceOptions options)
    : site_(site), admin_(admin), inventory_(std::move(inventory)), options_(options) {}

Result<std::unique_ptr<ReportService>> ReportService::open(Site* site, AdminAuth* admin,
                                                           ReportServiceOptions options) {
  Inventory inventory = TRY(Inventory::open(site->database()));
  // Part files are uploads a previous server was receiving when it stopped:
  // their agents retry, and O_EXCL would refuse them while these remain.
  if (DIR* uploads = ::opendir(site->uploads_dir().c_str())) {
    while (dirent* entry = ::readdir(uploads))
      if (ends_with(entry->d_name, ".tar.part"))
        ::unlinkat(::dirfd(uploads), entry->d_name, 0);
    ::closedir(uploads);
  }
  std::unique_ptr<ReportService> service(
      new ReportService(site, admin, std::move(inventory), options));
  if (options.run_schedules)
    service->scheduler_ = std::thread([raw = service.get()] { raw->run_schedules(); });
  return service;
}

ReportService::~ReportService() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
}

void ReportService::run_schedules() {
  std::unique_lock stop_lock(stop_mutex_);
  do {
    std::vector<std::string> lines;
    {
      std::lock_guard lock(inventory_mutex_);
      auto transaction = inventory_.begin_write();
      if (!transaction.ok()) continue;
      auto done = run_due_resets(inventory_, site_->env()->now_seconds());
      if (done.ok() && transaction->commit().ok()) lines = *done;
      else if (!done.ok()) lines.push_back("reset schedule: " + done.error().message);
    }
    for (const std::string& line : lines) std::printf("goldroot serve: %s\n", line.c_str());
    std::fflush(stdout);
  } while (!stop_.wait_for(stop_lock, std::chrono::seconds(20), [this] { return stopping_; }));
}

HttpResponse ReportService::receive(const HttpRequest& request) {
  if (request.method != "POST") return json_error(405, "send reports with POST");
  const std::string* signature = request.header(kSignatureHeader);
  if (!signature)
    return json_error(401, "the report is not signed; send X-Goldroot-Signature: ed25519=<base64>");
  auto report = Report::parse(request.body);
  if (!report.ok()) return json_error(400, report.error().message);
  std::vector<AgentCommand> commands;
  {
    std::lock_guard lock(inventory_mutex_);
    // An adopted machine's agent reports under its unregistered name until
    // it boots again; the adopter's key must have signed it.
    if (auto known = inventory_.find_host(report->host); known.ok() && !*known) {
      auto adopter = adopter_of(inventory_, report->host);
      if (adopter.ok() && *adopter) report->host = **adopter;
    }
    auto refused = check_host_signature(report->host, *signature, report_statement(request.body));
    if (refused) return std::move(*refused);
    auto transaction = inventory_.begin_write();
    if (!transaction.ok()) return json_error(503, transaction.error().message);
    AgentStore agents(inventory_.database());
    // A host that booted around its manifest (a mode it was not given) is
    // refused and shown to the admin; the alert must outlive the refusal.
    auto fits = agents.check_reported_mode(report->host, report->mode, site_->env()->now_seconds());
    if (!fits.ok()) return json_error(503, fits.error().message);
    if (!*fits) {
      if (auto committed = transaction->commit(); !committed.ok())
        return json_error(503, committed.error().message);
      std::printf("goldroot serve: refused %s's report: it booted in mode %s, not its manifest's\n",
                  report->host.c_str(), printable(report->mode).c_str());
      std::fflush(stdout);
      return json_error(403, "host " + report->host + " booted in mode " + report->mode +
                                 ", not the mode its manifest gave; its reports are refused");
    }
    auto recorded = agents.record(*report, request.body, site_->env()->now_seconds());
    if (!recorded.ok()) {
      switch (recorded.error().code) {
        case ErrorCode::kAlreadyExists: return json_error(409, recorded.error().message);
        case ErrorCode::kNotFound: return json_error(403, recorded.error().message);
        case ErrorCode::kInvalidArgument: return json_error(400, recorded.error().message);
        default: return json_error(503, recorded.error().message);
      }
    }
    auto committed = transaction->commit();
    if (!committed.ok()) return json_error(503, committed.error().message);
    commands = std::move(recorded).value();
  }
  ReportReply reply{std::move(commands)};
  // The image the host's channel moved to, for its agent to fetch before
  // the next boot. Not for a host going down; a failure costs only this.
  if (options_.prefetch_manifest && report->event != "shutdown") {
    auto order = options_.prefetch_manifest(report->host, report->commit,
                                            prefetch_challenge(report->boot_id, report->sequence),
                                            site_->env()->now_seconds());
    if (order.ok() && *order) reply.prefetch_manifest = std::move(**order);
    else if (!order.ok())
      std::printf("goldroot serve: no pre-fetch order for %s: %s\n", report->host.c_str(),
                  order.error().message.c_str());
  }
  // Admins act on a maintenance host (capture --host): its agent checks for
  // commands every few seconds. There are few such hosts at a time.
  if (report->mode == "maintenance") reply.report_within_seconds = kMaintenanceReportSeconds;
  return HttpResponse::json(200, reply.serialize()).with_cache(server::CachePolicy::kNoStore);
}

std::optional<HttpResponse> ReportService::check_host_signature(const std::string& host,
                                                               const std::string& signature,
                                                               const std::string& statement) {
  auto key = HostKeys(inventory_.database()).enrolled(host);
  if (!key.ok()) return json_error(503, key.error().message);
  if (!*key)
    return json_error(403, "host " + host + " has no enrolled key (goldroot host keys), so "
                           "nothing can speak for it");
  if (!verify_statement(**key, signature, statement).ok())
    return json_error(403, "the signature is not by the key enrolled for host " + host);
  return std::nullopt;
}

HttpResponse ReportService::status(const HttpRequest& request) {
  std::optional<std::string> lab;
  for (const std::string& pair : split(request.query, '&'))
    if (starts_with(pair, "lab=") && pair.size() > 4) lab = pair.substr(4);
  std::lock_guard lock(inventory_mutex_);
  auto transaction = inventory_.begin_read();
  if (!transaction.ok()) return json_error(503, transaction.error().message);
  auto out = fleet_status(*site_, inventory_, lab, site_->env()->now_seconds(), options_.unseen_after);
  if (!out.ok())
    return json_error(out.error().code == ErrorCode::kNotFound ? 404 : 500, out.error().message);
  return HttpResponse::json(200, out->dump(2) + "\n").with_cache(server::CachePolicy::kNoStore);
}

HttpResponse ReportService::changes(const std::string& host) {
  std::lock_guard lock(inventory_mutex_);
  auto transaction = inventory_.begin_read();
  if (!transaction.ok()) return json_error(503, transaction.error().message);
  auto out = host_changes(inventory_, host);
  if (!out.ok())
    return json_error(out.error().code == ErrorCode::kNotFound ? 404 : 500, out.error().message);
  return HttpResponse::json(200, out->dump(2) + "\n").with_cache(server::CachePolicy::kNoStore);
}

server::UploadStart ReportService::upload(const HttpRequest& head) {
  server::UploadStart start;
  auto refuse = [&](int status, const std::string& message) {
    start.refusal = json_error(status, message);
    return std::move(start);
  };
  if (head.method != "POST" && head.method != "PUT")
    return refuse(405, "send an upload with POST or PUT");
  std::string rest = head.path.substr(std::string("/api/v1/uploads/").size());
  uint64_t id = 0;
  if (!parse_uint64(rest, &id) || id == 0) return refuse(404, "no upload is expected at " + head.path);
  std::optional<StoredCommand> command;
  {
    std::lock_guard lock(inventory_mutex_);
    auto transaction = inventory_.begin_read();
    if (!transaction.ok()) return refuse(503, transaction.error().message);
    AgentStore agents(inventory_.database());
    auto found = agents.command(static_cast<int64_t>(id));
    if (!found.ok()) return refuse(503, found.error().message);
    command = std::move(found).value();
  }
  if (!command || command->kind() != CommandKind::kUploadUpper)
    return refuse(404, "no upload is expected at " + head.path);
  const std::string* signature = head.header(kSignatureHeader);
  if (!signature)
    return refuse(401, "the upload is not signed; send X-Goldroot-Signature: ed25519=<base64>");
  {
    std::lock_guard lock(inventory_mutex_);
    auto refused = check_host_signature(command->host, *signature,
                                        report_statement(upload_statement(command->id)));
    if (refused) {
      start.refusal = std::move(*refused);
      return start;
    }
  }
  if (is_final(command->status))
    return refuse(409, "upload " + std::to_string(id) + " is no longer wanted (" +
                           command_status_name(command->status) + ")");
  if (::mkdir(site_->uploads_dir().c_str(), 0700) != 0 && errno != EEXIST)
    return refuse(500, errno_error("creating " + site_->uploads_dir(), errno).message);
  auto settings = site_->settings();
  if (!settings.ok()) return refuse(503, settings.error().message);
  uint64_t length = 0;
  const std::string* content_length = head.header("content-length");
  if (content_length && parse_uint64(*content_length, &length) && length > settings->upload_max_bytes)
    return refuse(413, "the upload is larger than the site's upload-max of " +
                           human_bytes(settings->upload_max_bytes) +
                           "; raise it with 'goldroot site set upload-max=SIZE'");
  auto file = UploadFile::create(site_->uploads_dir() + "/" + std::to_string(id) + ".tar",
                                 settings->upload_max_bytes);
  if (!file.ok())
    return refuse(file.error().code == ErrorCode::kAlreadyExists ? 409 : 500,
                  file.error().message);
  start.sink = std::move(file).value();
  return start;
}

void ReportService::install(server::Router& router) {
  router.add_upload("/api/v1/uploads/",
                    [this](const HttpRequest& head) { return upload(head); });
  // Each report is a SQLite write with fsync: never on the event loop.
  router.add_exact("/api/v1/reports", [this](const HttpRequest& request) {
    return HttpResponse::later([this, request] { return receive(request); });
  }, kMaxReportBytes);
  router.add_exact("/api/v1/status", admin_->guard([this](const HttpRequest& request) {
    return HttpResponse::later([this, request] { return status(request); });
  }));
  router.add_prefix("/api/v1/hosts/", admin_->guard([this](const HttpRequest& request) {
    std::string rest = request.path.substr(std::string("/api/v1/hosts/").size());
    if (!ends_with(rest, "/changes"))
      return json_error(404, "no such endpoint; try /api/v1/hosts/NAME/changes");
    return HttpResponse::later(
        [this, host = rest.substr(0, rest.size() - 8)] { return changes(host); });
  }));
}

}  // namespace goldroot

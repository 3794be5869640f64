// `goldroot serve-files DIR`: a hidden developer command that runs the boot
// server's HTTP core as a plain static file server, for benchmarks and
// manual testing. It is not `goldroot serve` (which serves the store and
// the inventory). Runs until SIGINT or SIGTERM.
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <cstdio>
#include <cstdlib>

#include "base/strings.h"
#include "cli/command.h"
#include "crypto/tls_identity.h"
#include "bootserver/admin_auth.h"
#include "bootserver/admin_routes.h"
#include "bootserver/boot_service.h"
#include "bootserver/replica_routes.h"
#include "bootserver/report_service.h"
#include "bootserver/dhcp_settings.h"
#include "bootserver/grub_tree.h"
#include "bootserver/uki_tree.h"
#include "dashboard/dashboard.h"
#include "fleet/database.h"
#include "net/address.h"
#include "net/interfaces.h"
#include "netboot/dnsmasq_supervisor.h"
#include "netboot/tftp_root.h"
#include "replica/replica_pull.h"
#include "server/http_server.h"
#include "server/static_files.h"

namespace goldroot::cli {

namespace {

Result<std::pair<std::string, uint16_t>> parse_listen(const std::string& listen,
                                                      const std::string& flag = "--listen") {
  size_t colon = listen.rfind(':');
  uint64_t port = 0;
  if (colon == std::string::npos || !parse_uint64(listen.substr(colon + 1), &port) || port > 65535)
    return make_error(ErrorCode::kInvalidArgument, flag + " wants ADDRESS:PORT, not " + listen);
  return std::make_pair(listen.substr(0, colon), static_cast<uint16_t>(port));
}

// The TLS listener of `tls_listen` (ADDRESS:PORT; the port must be given:
// clients are told it) with the identity in `keys_dir`.
Result<server::TlsListenOptions> tls_listener(const std::string& tls_listen,
                                              const std::string& keys_dir) {
  auto [address, port] = TRY(parse_listen(tls_listen, "--tls-listen"));
  if (port == 0)
    return make_error(ErrorCode::kInvalidArgument,
                      "--tls-listen needs a port (clients are sent to it), not " + tls_listen);
  return server::TlsListenOptions{.address = address,
                                  .port = port,
                                  .certificate_file = tls_certificate_path(keys_dir),
                                  .key_file = tls_key_path(keys_dir)};
}

std::string url_of(const std::string& scheme, const std::string& address, uint16_t port) {
  std::string host = address.find(':') != std::string::npos && address.front() != '['
                         ? "[" + address + "]"
                         : address;
  return scheme + "://" + host + ":" + std::to_string(port) + "/";
}

// Blocks SIGINT/SIGTERM before the workers start, so only sigwait sees
// them; runs `router` until one arrives. `options.tls`, when set, adds the
// TLS listener; `started_notice`, if any, goes to stderr once it serves
// (not before: a server that fails to start says one thing, its error).
Status serve_until_signal(const std::string& listen, server::ServerOptions options,
                          const std::string& access_log_path, server::Router router,
                          const std::string& what, const std::string& started_notice = "") {
  auto [address, port] = TRY(parse_listen(listen));
  TRY(server::raise_open_file_limit());
  std::unique_ptr<server::AccessLog> access_log;
  if (!access_log_path.empty()) access_log = TRY(server::AccessLog::open(access_log_path));
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  options.address = address;
  options.port = port;
  options.access_log = access_log.get();
  auto http = TRY(server::HttpServer::start(options, std::move(router)));
  std::printf("serving %s on %s\n", what.c_str(), url_of("http", address, http->port()).c_str());
  if (options.tls)
    std::printf("serving %s on %s\n", what.c_str(),
                url_of("https", options.tls->address, http->tls_port()).c_str());
  std::fflush(stdout);
  if (!started_notice.empty()) std::fprintf(stderr, "%s\n", started_notice.c_str());
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  http->stop();
  return {};
}

}  // namespace

namespace {

// The per-machine files of the TFTP root: GRUB's menus and the links to the
// signed kernel images. A failure is printed; the files stay as they were.
void write_boot_trees(BootService& service, Inventory& inventory, const SiteSettings& settings,
                      const GrubTreeOptions& options) {
  auto grub = write_grub_tree(service, inventory, settings, options);
  if (!grub.ok())
    std::fprintf(stderr, "goldroot serve: GRUB files: %s\n", grub.error().message.c_str());
  auto uki = write_uki_tree(service, inventory, settings, options);
  if (!uki.ok())
    std::fprintf(stderr, "goldroot serve: signed kernel images: %s\n",
                 uki.error().message.c_str());
}

// Watches what dnsmasq's answers and the GRUB files in its TFTP root are
// made of: the inventory and the site's settings (both: dnsmasq gets the
// regenerated settings — hosts: SIGHUP; networks: a checked restart), and
// the channel refs, their journal and the exports (the GRUB files, which
// name each host's kernel and initrds). Polls every 2 seconds.
class DhcpWatcher {
 public:
  DhcpWatcher(Site* site, std::string directory, DhcpOptions options,
              netboot::DnsmasqSupervisor* supervisor, BootService* service)
      : site_(site),
        directory_(std::move(directory)),
        options_(std::move(options)),
        supervisor_(supervisor),
        service_(service) {
    thread_ = std::thread([this] { run(); });
  }
  ~DhcpWatcher() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  using Stamp = std::pair<int64_t, int64_t>;
  static Stamp stamp_of(const std::vector<std::string>& paths) {
    Stamp result{0, 0};
    for (const std::string& path : paths) {
      struct stat st;
      if (::stat(path.c_str(), &st) == 0)
        result = std::max(result, {st.st_mtim.tv_sec, st.st_mtim.tv_nsec});
    }
    return result;
  }
  // What dnsmasq's settings come from.
  Stamp dhcp_stamp() const {
    std::string database = site_->database();
    return stamp_of({database, database + "-wal", site_->root() + "/site.json"});
  }
  // What the GRUB files come from besides: a ref is renamed into its
  // directory, the journal replaced, an export added.
  Stamp boot_stamp() const {
    return stamp_of({site_->store_dir() + "/refs/channels", site_->store_dir() + "/channel-journal",
                     site_->exports_dir()});
  }
  // A PostgreSQL inventory has no file whose time moves with a write (and
  // another server may write it): what dnsmasq's settings come from, read
  // from it. Empty for SQLite, whose file dhcp_stamp() watches.
  std::string inventory_fingerprint() {
    if (!is_postgresql_url(site_->database())) return {};
    if (!watched_) {
      auto opened = Inventory::open(site_->database());
      if (!opened.ok()) return {};
      watched_.emplace(std::move(opened).value());
    }
    auto transaction = watched_->begin_read();
    if (!transaction.ok()) return {};
    auto hosts = watched_->hosts();
    auto labs = watched_->labs();
    auto networks = watched_->networks();
    if (!hosts.ok() || !labs.ok() || !networks.ok()) return {};
    nlohmann::json all = nlohmann::json::array();
    for (const Host& host : *hosts) all.push_back(to_json(host));
    for (const Lab& lab : *labs) all.push_back(to_json(lab));
    for (const Network& network : *networks) all.push_back(to_json(network));
    return all.dump();
  }
  void run() {
    auto seen_dhcp = dhcp_stamp();
    auto seen_inventory = inventory_fingerprint();
    auto seen_boot = boot_stamp();
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::seconds(2), [this] { return stopping_; })) {
      auto now_dhcp = dhcp_stamp();
      auto now_inventory = inventory_fingerprint();
      auto now_boot = boot_stamp();
      if (now_dhcp == seen_dhcp && now_inventory == seen_inventory && now_boot == seen_boot)
        continue;
      bool dhcp_changed = now_dhcp != seen_dhcp || now_inventory != seen_inventory;
      seen_dhcp = now_dhcp;
      seen_inventory = std::move(now_inventory);
      seen_boot = now_boot;
      auto inventory = Inventory::open(site_->database());
      if (!inventory.ok()) continue;
      auto settings = site_->settings();
      if (!settings.ok()) {
        std::fprintf(stderr, "goldroot serve: %s\n", settings.error().message.c_str());
        continue;
      }
      write_boot_trees(*service_, *inventory, *settings,
                       {.tftp_root = directory_ + "/tftp", .base_url = options_.boot_server_url});
      if (!dhcp_changed) continue;
      auto dhcp = dhcp_settings(*inventory, options_, settings->uefi);
      if (!dhcp.ok()) {
        std::fprintf(stderr, "goldroot serve: keeping dnsmasq as it is: %s\n",
                     dhcp.error().message.c_str());
        continue;
      }
      netboot::DnsmasqSupervisorOptions paths;
      netboot::use_directory(directory_, &*dhcp, &paths);
      auto change = supervisor_->update(*dhcp);
      if (!change.ok())
        std::fprintf(stderr, "goldroot serve: %s\n", change.error().message.c_str());
    }
  }

  Site* site_;
  std::optional<Inventory> watched_;  // PostgreSQL only: inventory_fingerprint()
  std::string directory_;  // the site's dnsmasq/
  DhcpOptions options_;
  netboot::DnsmasqSupervisor* supervisor_;
  BootService* service_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// The names the admin API answers to: localhost, this machine's host name
// and addresses, the --listen address, --url's host, and --server-name.
Result<std::vector<std::string>> own_server_names(const std::string& listen_address,
                                                  const std::string& url,
                                                  std::vector<std::string> names) {
  for (const char* name : {"localhost", "127.0.0.1", "::1"}) names.push_back(name);
  char hostname[256] = {};
  if (::gethostname(hostname, sizeof hostname - 1) == 0 && hostname[0]) {
    names.push_back(hostname);
    names.push_back(std::string(hostname).substr(0, std::string(hostname).find('.')));
  }
  for (std::string& address : TRY(local_addresses())) names.push_back(std::move(address));
  std::string listen = listen_address;
  if (listen.size() >= 2 && listen.front() == '[') listen = listen.substr(1, listen.size() - 2);
  names.push_back(listen);
  if (starts_with(url, "http://") || starts_with(url, "https://")) {
    std::string_view authority = std::string_view(url).substr(url.find("//") + 2);
    names.emplace_back(host_of_authority(authority.substr(0, authority.find('/'))));
  }
  return names;
}

}  // namespace

Result<int> run_serve(Context& context, const Args& args) {
  if (!args.empty() && args[0] == "nginx-config")
    return run_serve_nginx_config(context, Args(args.begin() + 1, args.end()));
  CLI::App app{"Run the boot server: per-MAC iPXE menus, signed boot manifests, image "
               "artifacts, kernels, initrds, host layers and the JSON API; with --dhcp, also "
               "DHCP/proxy-DHCP and TFTP through a supervised dnsmasq. 'goldroot serve "
               "nginx-config --upstream URL' prints a building cache's nginx configuration.",
               "goldroot serve"};
  std::string listen = "0.0.0.0:8080", dhcp = "off", url, range, unknown = "registration";
  std::string tls_listen;
  std::vector<std::string> interfaces;
  server::ServerOptions server_options;
  BootServiceOptions boot_options;
  app.add_option("--listen", listen, "ADDRESS:PORT to listen on (default 0.0.0.0:8080)");
  app.add_option("--tls-listen", tls_listen,
                 "ADDRESS:PORT to also serve over TLS, with SITE/keys/tls.key, whose pin the "
                 "goldroot initrd carries: booting clients then fetch their manifest, image and "
                 "layer and their agents report over https (iPXE stays on --listen)");
  app.add_option("--threads", server_options.threads, "event-loop threads (default: one per CPU)");
  app.add_option("--max-connections-per-address", server_options.max_connections_per_address,
                 "connections one client address may hold at once (default 256; 0: no limit); "
                 "more are closed as they arrive");
  std::string link_rate = "1gbit";
  app.add_option("--link-rate", link_rate,
                 "the rate of this server's link, e.g. 1gbit (default) or 10gbit: while "
                 "booting PCs read their image, other PCs' background fills get what the boots "
                 "leave of 90% of it (at least 5%); off: fills and boot reads alike");
  app.add_option("--dhcp", dhcp, "off (default), proxy (beside an existing DHCP server) or full");
  app.add_option("--interface", interfaces, "interface dnsmasq answers on (with --dhcp; repeatable)");
  app.add_option("--url", url, "this server's URL as clients reach it (default: http://IP:PORT of "
                               "the first --interface)");
  app.add_option("--dhcp-range", range, "full mode: a pool START-END for unregistered machines");
  app.add_option("--unknown", unknown,
                 "what unregistered MACs get: registration (default) or default-image "
                 "(channel gold, as unregistered hosts that 'host add --mac' adopts)");
  app.add_option("--unknown-mode", boot_options.unknown.default_mode,
                 "default-image: the mode unregistered machines boot, normal (default), reset "
                 "or cache");
  app.add_option("--max-unregistered", boot_options.max_unregistered,
                 "default-image: how many unregistered hosts to keep at most (default 256); "
                 "more machines are refused until some are registered or removed");
  std::string loopback_exempt = "no";
  std::vector<std::string> server_names;
  int64_t unseen_after = 0;
  app.add_option("--admin-loopback-exempt", loopback_exempt,
                 "no (default): admin API clients on loopback need the admin token like "
                 "anyone; yes: they do not (anything on this machine is then the admin)");
  app.add_option("--server-name", server_names,
                 "a name clients use for this server, for the admin API's Host and Origin "
                 "checks (repeatable; its addresses, host name and localhost are known)");
  app.add_option("--unseen-after", unseen_after,
                 "seconds of silence before a host is unseen (default: 3 of its agent's "
                 "reporting intervals)");
  app.add_option("--kernel-args", boot_options.menu.extra_kernel_arguments,
                 "appended to every client's kernel command line, e.g. \"console=ttyS0\"");
  app.add_option("--menu-timeout", boot_options.menu.timeout_seconds,
                 "seconds the boot menu waits before the host's mode (default 5; 0: no menu)");
  app.add_option("--peer", boot_options.peers,
                 "another server of the site, as clients reach it (http://HOST:PORT/; "
                 "repeatable): named in every host's signed manifest, so a running host whose "
                 "server stops answering reads its image from, and reports to, the peer");
  double replica_interval = 5;
  app.add_option("--replica-interval", replica_interval,
                 "on a secondary: seconds between copies from the primary (default 5)");
  app.add_option("--tools-dir", boot_options.tools_dir,
                 "where goldroot-boot and goldroot-agent are, for the goldroot initrd "
                 "(default: beside this program)");
  if (auto exit = parse_args(app, args)) return *exit;
  if (link_rate != "off")
    server_options.fill_lane = server::FillLaneOptions{.link_rate = TRY(server::parse_link_rate(link_rate))};
  if (loopback_exempt != "yes" && loopback_exempt != "no")
    return make_error(ErrorCode::kInvalidArgument,
                      "--admin-loopback-exempt is yes or no, not '" + loopback_exempt + "'");
  auto [address, port] = TRY(parse_listen(listen));
  // Block the stop signals before any thread starts, so that only
  // serve_until_signal's sigwait receives them and cleanup always runs.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  if (unknown == "default-image")
    boot_options.unknown.policy = netboot::UnknownHostPolicy::kDefaultImage;
  else if (unknown != "registration")
    return make_error(ErrorCode::kInvalidArgument,
                      "--unknown is registration or default-image, not '" + unknown + "'");
  if (boot_options.unknown.default_mode != "normal" &&
      boot_options.unknown.default_mode != "reset" && boot_options.unknown.default_mode != "cache")
    return make_error(ErrorCode::kInvalidArgument,
                      "--unknown-mode is normal, reset or cache, not '" +
                          boot_options.unknown.default_mode + "'");
  for (std::string& peer : boot_options.peers) {
    if (!starts_with(peer, "http://") && !starts_with(peer, "https://"))
      return make_error(ErrorCode::kInvalidArgument,
                        "--peer wants http://HOST:PORT/ or https://HOST:PORT/, not '" + peer + "'");
    if (peer.back() != '/') peer += '/';
  }
  if (boot_options.max_unregistered < 0)
    return make_error(ErrorCode::kInvalidArgument, "--max-unregistered must not be negative");
  if (dhcp != "off" && dhcp != "proxy" && dhcp != "full")
    return make_error(ErrorCode::kInvalidArgument, "--dhcp is off, proxy or full, not '" + dhcp + "'");
  if (dhcp != "off" && interfaces.empty())
    return make_error(ErrorCode::kInvalidArgument, "--dhcp " + dhcp + " needs --interface IF");

  // No site lock: the server only reads, and admin commands must keep
  // working while clients boot.
  auto site = TRY(Site::open_unlocked(context.env, context.site_root()));
  TRY(context.env->create_dir(site->root() + "/logs"));
  auto audit = TRY(server::JsonLog::open(site->root() + "/logs/audit.log", 0600));
  AdminAuthOptions admin_options;
  admin_options.audit = audit.get();
  admin_options.now = [env = context.env] { return env->now_seconds(); };
  if (loopback_exempt == "yes") {
    admin_options.loopback = LoopbackExempt::kYes;
    std::fprintf(stderr, "goldroot serve: warning: --admin-loopback-exempt yes: every program "
                         "on this machine, and any proxy in front of it, acts as the admin\n");
  }
  admin_options.server_names =
      TRY(own_server_names(address, url, std::move(server_names)));
  // Made even without --tls-listen: the initrd carries the pin either way,
  // so turning TLS on later changes no initrd.
  TRY(ensure_tls_identity(site->keys_dir(), admin_options.server_names)
          .context("the server's TLS identity"));
  boot_options.tls_pin = TRY(tls_public_key_pin(site->keys_dir()));
  if (!tls_listen.empty()) {
    server_options.tls = TRY(tls_listener(tls_listen, site->keys_dir()));
    boot_options.tls_port = server_options.tls->port;
    std::printf("TLS key pin %s\n", boot_options.tls_pin.c_str());
  }
  auto admin = TRY(AdminAuth::open(site->keys_dir(), std::move(admin_options)));
  boot_options.admin = admin.get();
  if (const char* tmpdir = std::getenv("TMPDIR"); tmpdir && *tmpdir) boot_options.cache_parent = tmpdir;
  auto service = TRY(BootService::open(site.get(), boot_options));
  ReportServiceOptions report_options{.unseen_after = unseen_after};
  report_options.prefetch_manifest = [boot = service.get()](const std::string& host,
                                                            const std::string& booted,
                                                            const std::string& challenge,
                                                            int64_t now) {
    return boot->prefetch_manifest(host, booted, challenge, now);
  };
  auto reports = TRY(ReportService::open(site.get(), admin.get(), report_options));
  auto admin_routes = TRY(AdminRoutes::open(site.get(), admin.get()));
  auto replica_routes = TRY(ReplicaRoutes::open(site->root(), admin.get()));
  std::unique_ptr<ReplicaFollower> follower;
  if (auto primary = TRY(site->primary_url())) {
    if (replica_interval <= 0)
      return make_error(ErrorCode::kInvalidArgument, "--replica-interval must be positive");
    std::printf("secondary of %s: copying its images, exports, layers and settings every %g s\n",
                primary->c_str(), replica_interval);
    follower = std::make_unique<ReplicaFollower>(
        context.env, site->root(), TRY(replica_source(*site)),
        std::chrono::milliseconds(static_cast<int64_t>(replica_interval * 1000)));
  }

  std::unique_ptr<netboot::DnsmasqSupervisor> dnsmasq;
  std::unique_ptr<DhcpWatcher> watcher;
  if (dhcp != "off") {
    DhcpOptions options;
    options.mode = dhcp == "full" ? netboot::DhcpMode::kFull : netboot::DhcpMode::kProxy;
    options.interfaces = interfaces;
    options.boot_server_url =
        url.empty() ? "http://" + TRY(interface_address(interfaces[0])) + ":" + std::to_string(port)
                    : url;
    if (!range.empty()) {
      size_t dash = range.find('-');
      if (dash == std::string::npos)
        return make_error(ErrorCode::kInvalidArgument, "--dhcp-range wants START-END, not " + range);
      options.pool_start = range.substr(0, dash);
      options.pool_end = range.substr(dash + 1);
    }
    auto inventory = TRY(Inventory::open(site->database()));
    SiteSettings site_settings = TRY(site->settings());
    netboot::DnsmasqSettings settings =
        TRY(dhcp_settings(inventory, options, site_settings.uefi));
    netboot::DnsmasqSupervisorOptions supervisor_options;
    std::string directory = site->root() + "/dnsmasq";
    TRY(context.env->create_dir(directory));
    ::chmod(directory.c_str(), 0755);
    netboot::use_directory(directory, &settings, &supervisor_options);
    TRY(netboot::prepare_tftp_root(settings.tftp_root));
    if (!TRY(netboot::prepare_secure_boot_loaders(settings.tftp_root)))
      std::fprintf(stderr, "goldroot serve: warning: Debian's signed shim or GRUB is missing "
                           "(packages shim-signed, grub-efi-amd64-signed): UEFI machines set to "
                           "uefi=shim cannot boot\n");
    // Before dnsmasq answers: a machine told to load shim finds GRUB's files.
    write_boot_trees(*service, inventory, site_settings,
                     {.tftp_root = settings.tftp_root, .base_url = options.boot_server_url});
    dnsmasq = TRY(netboot::DnsmasqSupervisor::start(settings, supervisor_options));
    std::printf("dnsmasq (%s DHCP, TFTP) on %s, chainloading to %s\n", dhcp.c_str(),
                interfaces[0].c_str(), options.boot_server_url.c_str());
    watcher = std::make_unique<DhcpWatcher>(site.get(), directory, options, dnsmasq.get(),
                                            service.get());
  }
  server::Router router;
  service->install(router);
  reports->install(router);
  admin->install(router);
  admin_routes->install(router);  // after reports: it hands /api/v1/hosts/NAME/changes on
  replica_routes->install(router);
  install_dashboard(router);
  std::thread warm_up([&service] { service->prepare_initrds(); });
  std::string plain_warning =
      tls_listen.empty() ? "goldroot serve: warning: plain HTTP only: host layers, reports, uploads "
                           "and the admin's token cross the network in clear; add --tls-listen "
                           "ADDRESS:PORT to serve them over TLS"
                         : "";
  Status served = serve_until_signal(listen, server_options, site->root() + "/logs/access.log",
                                     std::move(router), "site " + site->root(), plain_warning);
  warm_up.join();
  follower.reset();
  TRY(std::move(served));
  watcher.reset();
  if (dnsmasq) dnsmasq->stop();
  return 0;
}

Result<int> run_serve_files(Context& context, const Args& args) {
  CLI::App app{"Serve the files of DIR over HTTP (developer tool; not the boot server).",
               "goldroot serve-files"};
  std::string directory;
  std::string listen = "127.0.0.1:8080";
  std::string tls_listen, tls_keys;
  std::string access_log_path;
  int threads = 0;
  app.add_option("DIR", directory, "directory to serve")->required();
  app.add_option("--listen", listen, "ADDRESS:PORT to listen on");
  app.add_option("--tls-listen", tls_listen, "ADDRESS:PORT to also serve over TLS");
  app.add_option("--tls-keys", tls_keys,
                 "directory with tls.key and tls.crt, made there if missing (with --tls-listen)");
  app.add_option("--threads", threads, "event-loop threads (default: one per CPU)");
  app.add_option("--access-log", access_log_path, "append JSON access log lines to this file");
  if (auto exit = parse_args(app, args)) return *exit;

  auto files = TRY(server::StaticFiles::open(directory, "/"));
  server::Router router;
  router.add_prefix("/", server::StaticFiles::handler(files));
  server::ServerOptions options;
  options.threads = threads;
  if (!tls_listen.empty()) {
    if (tls_keys.empty())
      return make_error(ErrorCode::kInvalidArgument, "--tls-listen needs --tls-keys DIR");
    TRY(context.env->create_dir(tls_keys));
    TRY(ensure_tls_identity(tls_keys, {"localhost", "127.0.0.1", "::1"}));
    options.tls = TRY(tls_listener(tls_listen, tls_keys));
  }
  TRY(serve_until_signal(listen, options, access_log_path, std::move(router), directory));
  return 0;
}

}  // namespace goldroot::cli

// `goldroot serve-files DIR`: a hidden developer command that runs the boot
// server's HTTP core as a plain static file server, for benchmarks and
// manual testing. It is not `goldroot serve` (which serves the store and
// the inventory). Runs until SIGINT or SIGTERM.
#include <signal.h>

#include <cstdio>

#include "base/strings.h"
#include "cli/command.h"
#include "bootserver/boot_service.h"
#include "server/http_server.h"
#include "server/static_files.h"

namespace goldroot::cli {

namespace {

Result<std::pair<std::string, uint16_t>> parse_listen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  uint64_t port = 0;
  if (colon == std::string::npos || !parse_uint64(listen.substr(colon + 1), &port) || port > 65535)
    return make_error(ErrorCode::kInvalidArgument, "--listen wants ADDRESS:PORT, not " + listen);
  return std::make_pair(listen.substr(0, colon), static_cast<uint16_t>(port));
}

// Blocks SIGINT/SIGTERM before the workers start, so only sigwait sees
// them; runs `router` until one arrives.
Status serve_until_signal(const std::string& listen, int threads, const std::string& access_log_path,
                          server::Router router, const std::string& what) {
  auto [address, port] = TRY(parse_listen(listen));
  TRY(server::raise_open_file_limit());
  std::unique_ptr<server::AccessLog> access_log;
  if (!access_log_path.empty()) access_log = TRY(server::AccessLog::open(access_log_path));
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  server::ServerOptions options;
  options.address = address;
  options.port = port;
  options.threads = threads;
  options.access_log = access_log.get();
  auto http = TRY(server::HttpServer::start(options, std::move(router)));
  std::printf("serving %s on http://%s:%u/\n", what.c_str(), address.c_str(), http->port());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  http->stop();
  return {};
}

}  // namespace

Result<int> run_serve(Context& context, const Args& args) {
  CLI::App app{"Run the boot server: signed boot manifests per MAC, image artifacts, kernels, "
               "initrds, host layers and the JSON API.",
               "goldroot serve"};
  std::string listen = "0.0.0.0:8080";
  int threads = 0;
  app.add_option("--listen", listen, "ADDRESS:PORT to listen on (default 0.0.0.0:8080)");
  app.add_option("--threads", threads, "event-loop threads (default: one per CPU)");
  if (auto exit = parse_args(app, args)) return *exit;
  // No site lock: the server only reads, and admin commands must keep
  // working while clients boot.
  auto site = TRY(Site::open_unlocked(context.env, context.site_root()));
  TRY(context.env->create_dir(site->root() + "/logs"));
  auto service = TRY(BootService::open(site.get()));
  server::Router router;
  service->install(router);
  TRY(serve_until_signal(listen, threads, site->root() + "/logs/access.log", std::move(router),
                         "site " + site->root()));
  return 0;
}

Result<int> run_serve_files(Context& context, const Args& args) {
  CLI::App app{"Serve the files of DIR over HTTP (developer tool; not the boot server).",
               "goldroot serve-files"};
  std::string directory;
  std::string listen = "127.0.0.1:8080";
  std::string access_log_path;
  int threads = 0;
  app.add_option("DIR", directory, "directory to serve")->required();
  app.add_option("--listen", listen, "ADDRESS:PORT to listen on");
  app.add_option("--threads", threads, "event-loop threads (default: one per CPU)");
  app.add_option("--access-log", access_log_path, "append JSON access log lines to this file");
  if (auto exit = parse_args(app, args)) return *exit;

  auto files = TRY(server::StaticFiles::open(directory, "/"));
  server::Router router;
  router.add_prefix("/", server::StaticFiles::handler(files));
  TRY(serve_until_signal(listen, threads, access_log_path, std::move(router), directory));
  return 0;
}

}  // namespace goldroot::cli

// goldroot: the admin's command line. A thin main over the libraries: it
// reads the global options, makes the PosixEnv, and dispatches.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/parallel.h"
#include "base/progress.h"
#include "base/strings.h"
#include "cli/command.h"
#include "fleet/inventory.h"

namespace goldroot::cli {

static Result<int> run_init(Context& context, const Args& args) {
  CLI::App app{"Create a goldroot site (idempotent). The site's Secure Boot key signs its "
               "unified kernel images; goldroot makes one (RSA 2048) unless you bring yours.",
               "goldroot init"};
  std::string key_path, certificate_path;
  auto* key_option = app.add_option("--secure-boot-key", key_path,
                                    "the site's Secure Boot private key (PEM, unencrypted)");
  auto* certificate_option = app.add_option("--secure-boot-cert", certificate_path,
                                            "its X.509 certificate (PEM or DER)");
  key_option->needs(certificate_option);
  certificate_option->needs(key_option);
  std::string primary, keys_from;
  auto* primary_option = app.add_option(
      "--secondary-of", primary,
      "make a secondary server's site: the primary's https://HOST:PORT/ (its --tls-listen), "
      "from which 'goldroot serve' here copies images, exports, layers and settings");
  auto* keys_option = app.add_option("--keys-from", keys_from,
                                     "with --secondary-of: a copy of the primary's SITE/keys");
  primary_option->needs(keys_option);
  keys_option->needs(primary_option);
  primary_option->excludes(key_option);
  std::string database;
  app.add_option("--database", database,
                 "keep the inventory (hosts, labs, agents' reports) in this PostgreSQL database, "
                 "postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE, which several servers can "
                 "share (a secondary: the primary's); default: SQLite in the site");
  if (auto exit = parse_args(app, args)) return *exit;
  std::optional<std::string> database_url;
  if (!database.empty()) {
    if (!is_postgresql_url(database))
      return make_error(ErrorCode::kInvalidArgument,
                        "--database wants a postgresql:// URL, not '" + redact_url(database) +
                            "' (SQLite, the default, needs no option)");
    // Connects and creates the tables now: a wrong URL is said here, once.
    TRY(Inventory::open(database));
    database_url = database;
  }
  if (!primary.empty()) {
    TRY(Site::init_secondary(context.env, context.site_root(), primary, keys_from, database_url));
    std::printf("secondary site ready at %s; 'goldroot serve' copies the rest from %s\n",
                context.site_root().c_str(), primary.c_str());
    if (database_url) std::printf("inventory: %s\n", describe_database(*database_url).c_str());
    return 0;
  }
  std::optional<Site::SecureBootPair> secure_boot;
  if (!key_path.empty())
    secure_boot = Site::SecureBootPair{TRY(context.env->read_file(key_path)),
                                       TRY(context.env->read_file(certificate_path))};
  TRY(Site::init(context.env, context.site_root(), secure_boot, database_url));
  std::printf("site ready at %s\n", context.site_root().c_str());
  if (database_url) std::printf("inventory: %s\n", describe_database(*database_url).c_str());
  return 0;
}

static const Command kCommands[] = {
    {"init", "create a site", run_init},
    {"site", "show and change the site's settings", run_site},
    {"image", "import, list, check out, diff, verify and collect images", run_image},
    {"changes", "list what an overlay upper dir changes over its image", run_changes},
    {"capture", "turn an overlay upper dir into a new image commit", run_capture},
    {"reset", "empty an overlay upper dir and workdir", run_reset},
    {"host", "add, list, change and import the fleet's hosts", run_host},
    {"lab", "add, list, change and remove labs", run_lab},
    {"network", "add, list and remove networks", run_network},
    {"layer", "render, blame and diff hosts' configuration layers", run_layer},
    {"channel", "point channels (test, gold, …) at commits; their history", run_channel},
    {"promote", "move test's commit to gold (gold's goes to previous)", run_promote},
    {"rollback", "move gold back to previous", run_rollback},
    {"serve", "run the boot server", run_serve},
    {"status", "show hosts' state, image, mode and changes as their agents report", run_status},
    // Hidden developer tool: a static file server for bench/http_bench.sh.
    {"serve-files", "", run_serve_files},
};

}  // namespace goldroot::cli

int main(int argc, char** argv) {
  using namespace goldroot;
  using namespace goldroot::cli;
  PosixEnv env;
  Context context;
  context.env = &env;
  // The environment is read here only; the libraries take it as options.
  context.site_variable = std::getenv("GOLDROOT_SITE");
  if (const char* threads = std::getenv("GOLDROOT_IO_THREADS"))
    set_io_threads(static_cast<unsigned>(std::atoi(threads)));
  if (const char* ci = std::getenv("CI"); ci && *ci) Progress::allow(false);
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (args.empty() && arg == "--site" && i + 1 < argc) {
      context.site_flag = argv[++i];
    } else if (args.empty() && arg.rfind("--site=", 0) == 0) {
      context.site_flag = arg.substr(7);
    } else if (args.empty() && arg == "--version") {
      std::printf("goldroot 0.1.0\n");
      return 0;
    } else {
      args.push_back(arg);
    }
  }
  Result<int> result = dispatch(context, kCommands, args, "goldroot");
  if (!result.ok()) {
    // Errors may quote what a host sent (a command's output, a path).
    std::fprintf(stderr, "error: %s\n", printable(result.error().message).c_str());
    return 1;
  }
  std::fflush(stdout);
  return *result;
}

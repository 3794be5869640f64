// The CLI's command tables (ninja's tool table, ostree's command table):
// each command group (image, host, …) is a file with a table of
// {name, summary, handler}; main.cc holds the top-level table. Dispatch
// suggests the nearest name on a typo.
//
// Handlers return the process exit code, or an Error that main prints once
// as "error: …" (exit 1). Usage errors exit 2.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "site/site.h"
#include "sys/env.h"

namespace goldroot::cli {

struct Context {
  Env* env = nullptr;
  std::optional<std::string> site_flag;
  const char* site_variable = nullptr;  // $GOLDROOT_SITE

  std::string site_root() const { return Site::default_root(site_flag, site_variable); }
  Result<std::unique_ptr<Site>> open_site(LockMode mode, const std::string& command) {
    return Site::open(env, site_root(), mode, command);
  }
};

using Args = std::vector<std::string>;
using Handler = Result<int> (*)(Context& context, const Args& args);

struct Command {
  const char* name;
  const char* summary;  // "" hides the command from the table (developer tools)
  Handler handler;
};

// Runs the command named by args[0] from `table`; `prefix` ("goldroot image")
// is used in usage messages.
Result<int> dispatch(Context& context, std::span<const Command> table, const Args& args,
                     const std::string& prefix);

// Parses `args` into `app`. Returns nullopt to go on, or the exit code to
// return at once (0 after --help, 2 after a usage error, with the message).
std::optional<int> parse_args(CLI::App& app, const Args& args);

// Prints JSON to stdout, replacing invalid UTF-8 rather than failing.
void print_json(const nlohmann::json& value);

// Who is acting, for channel history: the admin behind sudo, else the
// login, else the uid.
std::string current_user();

// The command groups, one file each.
Result<int> run_image(Context& context, const Args& args);
Result<int> run_host(Context& context, const Args& args);
Result<int> run_lab(Context& context, const Args& args);
Result<int> run_site(Context& context, const Args& args);
Result<int> run_network(Context& context, const Args& args);
Result<int> run_layer(Context& context, const Args& args);
Result<int> run_serve_files(Context& context, const Args& args);
Result<int> run_serve(Context& context, const Args& args);
// building_cache_command.cc: `goldroot serve nginx-config`
Result<int> run_serve_nginx_config(Context& context, const Args& args);
Result<int> run_channel(Context& context, const Args& args);
Result<int> run_promote(Context& context, const Args& args);
Result<int> run_rollback(Context& context, const Args& args);
// overlay_commands.cc
Result<int> run_changes(Context& context, const Args& args);
Result<int> run_capture(Context& context, const Args& args);
Result<int> run_reset(Context& context, const Args& args);
// agent_commands.cc
Result<int> run_status(Context& context, const Args& args);

}  // namespace goldroot::cli

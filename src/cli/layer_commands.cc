// `goldroot layer …`: render, blame and diff hosts' configuration layers
// (SITE/layers/{base,networks/<cidr>,labs/<lab>,hosts/<name>,ips/<ip>}).
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "base/scope_guard.h"
#include "base/strings.h"
#include "cli/command.h"
#include "cli/fleet_session.h"
#include "fleet/names.h"
#include "layer/blame.h"
#include "layer/layer_diff.h"
#include "layer/render.h"

namespace goldroot::cli {

namespace {

Result<OutputFormat> format_option(const std::string& format, const std::string& output) {
  if (format.empty()) return output_format_for(output);
  if (format == "dir") return OutputFormat::kDirectory;
  if (format == "tar") return OutputFormat::kTar;
  if (format == "erofs") return OutputFormat::kErofs;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown format '" + format + "'; choose dir, tar or erofs");
}

const char* format_suffix(OutputFormat format) {
  switch (format) {
    case OutputFormat::kDirectory:
      return "";
    case OutputFormat::kTar:
      return ".tar";
    case OutputFormat::kErofs:
      return ".erofs";
  }
  return "";
}

// Renders every host into DIR/<host>[.tar|.erofs]; all or nothing.
Status render_all(FleetSession& fleet, const std::string& output, OutputFormat format,
                  const WriteOptions& options) {
  std::string destination = output;
  while (destination.size() > 1 && destination.back() == '/') destination.pop_back();
  if (options.replace == Replace::kNo && ::access(destination.c_str(), F_OK) == 0)
    return make_error(ErrorCode::kAlreadyExists,
                      destination + " already exists; remove it or pass --force to replace it");
  std::string temporary = destination + ".tmp-" + std::to_string(::getpid());
  std::error_code ignored;
  std::filesystem::remove_all(temporary, ignored);
  ScopeGuard cleanup([&] { std::filesystem::remove_all(temporary, ignored); });
  if (!std::filesystem::create_directory(temporary, ignored))
    return make_error(ErrorCode::kIo, "cannot create " + temporary);
  size_t count = 0;
  SourceCache sources;  // the hosts share most layer files: read each once
  for (const Host& host : TRY(fleet.inventory.hosts())) {
    TRY(render_host_layer_to(fleet.inventory, fleet.site->layers_dir(), host.name,
                             temporary + "/" + host.name + format_suffix(format), format,
                             {Replace::kNo, Durability::kNoSync, &sources}));
    ++count;
  }
  // Like a single render: durable on request (one syncfs for all hosts).
  if (options.durability == Durability::kSync)
    TRY(fleet.site->env()->sync_filesystem(temporary));
  if (std::filesystem::is_directory(destination, ignored)) {
    // Swap atomically; the guard then removes the old renders.
    if (::renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, destination.c_str(), RENAME_EXCHANGE) !=
        0)
      return errno_error("replacing " + destination, errno);
  } else {
    TRY(fleet.site->env()->rename(temporary, destination));
  }
  std::printf("rendered %zu hosts into %s\n", count, destination.c_str());
  return {};
}

Result<int> layer_render(Context& context, const Args& args) {
  CLI::App app{"Render a host's effective layer to a directory, a .tar or an .erofs image.",
               "goldroot layer render"};
  std::string host, output, format_name;
  bool force = false, all = false, sync = false;
  app.add_option("HOST", host, "host name");
  app.add_option("--output,-o", output, "DIR, FILE.tar or FILE.erofs")->required();
  app.add_option("--format", format_name, "dir, tar or erofs (default: from --output)");
  app.add_flag("--all", all, "render every host into --output DIR, one entry per host");
  app.add_flag("--force", force, "replace an existing output");
  // A rendered layer is derived (render it again at will) and always
  // appears whole, by rename; fsyncing it is only worth it on request.
  app.add_flag("--sync", sync, "make the output durable (fsync) before returning");
  if (auto exit = parse_args(app, args)) return *exit;
  if (all == !host.empty())
    return make_error(ErrorCode::kInvalidArgument, "give either HOST or --all");
  Replace replace = force ? Replace::kYes : Replace::kNo;
  auto fleet = TRY(open_fleet(context, LockMode::kShared, "layer render"));
  auto transaction = TRY(fleet.inventory.begin_read());
  if (all) {
    OutputFormat format = TRY(format_option(format_name.empty() ? "dir" : format_name, output));
    TRY(render_all(fleet, output, format,
                   {replace, sync ? Durability::kSync : Durability::kNoSync}));
    return 0;
  }
  OutputFormat format = TRY(format_option(format_name, output));
  RenderedLayer layer =
      TRY(render_host_layer(fleet.inventory, fleet.site->layers_dir(), to_lower(host)));
  TRY(write_layer(layer, output, format,
                  {replace, sync ? Durability::kSync : Durability::kNoSync}));
  std::vector<std::string> names;
  for (const LayerRef& ref : layer.layers) names.push_back(ref.name);
  std::printf("rendered %s from %s into %s (%zu entries)\n", to_lower(host).c_str(),
              names.empty() ? "no layers" : join(names, ", ").c_str(), output.c_str(),
              layer.merged.nodes.size());
  return 0;
}

Result<int> layer_blame(Context& context, const Args& args) {
  CLI::App app{
      "Show, for each path of a host's layer, the layer that supplied it and the "
      "layers it overrode.",
      "goldroot layer blame"};
  std::string host, path;
  bool json = false;
  app.add_option("HOST", host, "host name")->required();
  app.add_option("PATH", path, "only this path (and what is below it)");
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto fleet = TRY(open_fleet(context, LockMode::kShared, "layer blame"));
  auto transaction = TRY(fleet.inventory.begin_read());
  HostProfile profile = TRY(load_host_profile(fleet.inventory, to_lower(host)));
  auto layers = TRY(host_layers(fleet.site->layers_dir(), profile));
  MergedLayer merged = TRY(merge_layers(layers));
  auto lines = TRY(blame(merged, path.empty() ? std::nullopt : std::optional(path)));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const BlameLine& line : lines) out.push_back(to_json(line));
    print_json(out);
    return 0;
  }
  for (const BlameLine& line : lines) std::printf("%s\n", format_blame(line).c_str());
  return 0;
}

Result<int> layer_diff(Context& context, const Args& args) {
  CLI::App app{"Show how two hosts' effective layers differ.", "goldroot layer diff"};
  std::string first, second;
  bool json = false;
  app.add_option("HOST1", first, "host name")->required();
  app.add_option("HOST2", second, "host name")->required();
  app.add_flag("--json", json, "print JSON");
  if (auto exit = parse_args(app, args)) return *exit;
  auto fleet = TRY(open_fleet(context, LockMode::kShared, "layer diff"));
  auto transaction = TRY(fleet.inventory.begin_read());
  std::string layers_dir = fleet.site->layers_dir();
  RenderedLayer a = TRY(render_host_layer(fleet.inventory, layers_dir, to_lower(first)));
  RenderedLayer b = TRY(render_host_layer(fleet.inventory, layers_dir, to_lower(second)));
  auto differences = TRY(diff_layers(a, b));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const LayerDifference& d : differences) out.push_back(to_json(d));
    print_json(out);
    return 0;
  }
  std::printf("--- %s\n+++ %s\n", to_lower(first).c_str(), to_lower(second).c_str());
  for (const LayerDifference& d : differences) std::printf("%s\n", format_difference(d).c_str());
  if (differences.empty()) std::printf("(no differences)\n");
  return 0;
}

const Command kLayerCommands[] = {
    {"render", "render a host's effective layer", layer_render},
    {"blame", "show which layer supplied each path", layer_blame},
    {"diff", "compare two hosts' effective layers", layer_diff},
};

}  // namespace

Result<int> run_layer(Context& context, const Args& args) {
  return dispatch(context, kLayerCommands, args, "goldroot layer");
}

}  // namespace goldroot::cli

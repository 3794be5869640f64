// `goldroot serve nginx-config`: prints the nginx configuration of a
// building cache in front of this server (bootserver/building_cache.h).
// Reads no site: the admin runs it wherever nginx will run.
#include <cstdio>

#include "bootserver/building_cache.h"
#include "cli/command.h"

namespace goldroot::cli {

Result<int> run_serve_nginx_config(Context&, const Args& args) {
  CLI::App app{
      "Print the nginx configuration of a building cache in front of goldroot serve: "
      "images, verity trees, kernels and initrds (content-addressed, immutable) are "
      "cached in slices and fetched from the server once per building; everything "
      "per host (manifests, layers, reports, the admin API) passes through uncached. "
      "It goes inside nginx's http block (Debian: /etc/nginx/conf.d/).",
      "goldroot serve nginx-config"};
  BuildingCacheOptions options;
  app.add_option("--upstream", options.upstream,
                 "the central server as the cache reaches it, http://HOST[:PORT]")
      ->required();
  app.add_option("--listen", options.listen,
                 "ADDRESS:PORT the building's clients reach the cache on (default 0.0.0.0:8080)");
  app.add_option("--cache-dir", options.cache_dir,
                 "where nginx keeps the cached slices (default /var/cache/nginx/goldroot)");
  app.add_option("--cache-size", options.cache_size,
                 "the most the cache keeps, e.g. 50g (default; least recently used goes first)");
  app.add_option("--slice", options.slice_size,
                 "the unit fetched from the server and kept: 64k (default, goldroot-blockd's read unit) "
                 "or larger, e.g. 1m (fewer requests, more bytes for scattered reads)");
  if (auto exit = parse_args(app, args)) return *exit;
  std::string config = TRY(building_cache_nginx_config(options));
  std::fputs(config.c_str(), stdout);
  return 0;
}

}  // namespace goldroot::cli

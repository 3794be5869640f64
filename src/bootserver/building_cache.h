// The nginx configuration of a building cache: an nginx in a building (or
// any network far from the server) in front of `goldroot serve`, so that
// the building's clients fetch each block of an image across the campus
// once, not once per client.
//
// What it caches is exactly what the server marks immutable and names by
// content: /images/<sha256>.<format>, /images/<sha256>.verity,
// /objects/<sha256> (kernels, initrds) and /initrd/<sha256>.img. Each is
// cached in slices (nginx's slice module), so clients reading scattered
// 64 KiB ranges on demand make the building fetch each slice once, and a
// boot storm waits on one fetch per slice (proxy_cache_lock). Clients check
// every byte against the signed manifest (whole-image sha256, or the
// dm-verity tree whose root it names), so a cache can withhold data but
// not change it.
//
// Everything else — iPXE scripts, challenges, signed manifests, host
// layers, reports, uploads, the admin API and dashboard — passes through
// uncached, with the client's headers (its signature, key and challenge)
// and its Host (iPXE scripts name the address the client used: the
// cache). The server answers those with "Cache-Control: private,
// no-store", and the cache's cached locations send the server exactly the
// content-addressed path they key on, so no answer for one host is ever
// kept for another.
//
// The text goes inside nginx's http block (Debian: /etc/nginx/conf.d/).
#pragma once

#include <string>

#include "base/result.h"

namespace goldroot {

struct BuildingCacheOptions {
  // The central server as the cache reaches it: http://HOST[:PORT].
  std::string upstream;
  // Where the building's clients reach the cache.
  std::string listen = "0.0.0.0:8080";
  std::string cache_dir = "/var/cache/nginx/goldroot";
  // nginx sizes: digits with an optional k, m or g.
  std::string cache_size = "50g";
  // The unit the cache fetches and keeps; a client's range is served from
  // the slices it covers. goldroot-blockd reads 64 KiB units: slices of
  // that size make the server send exactly what a building's clients read
  // (larger ones fetch up to slice/64 KiB times more for scattered reads,
  // in fewer requests).
  std::string slice_size = "64k";
};

// The configuration, or InvalidArgument naming the option that is wrong
// (nothing the caller passes reaches the text unchecked).
Result<std::string> building_cache_nginx_config(const BuildingCacheOptions& options);

}  // namespace goldroot

#include "bootserver/building_cache.h"

#include <algorithm>
#include <cctype>

#include "base/strings.h"

namespace goldroot {

namespace {

Error invalid(const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, message);
}

// HOST[:PORT] with HOST a name, an IPv4 address or a bracketed IPv6
// address: nothing nginx would read as syntax.
bool is_authority(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' &&
        c != '[' && c != ']')
      return false;
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || text.back() == ']') return text.front() != ':';
  if (text.front() != '[' && text.find(':') != colon) return false;  // IPv6 wants brackets
  uint64_t port = 0;
  return colon > 0 && parse_uint64(text.substr(colon + 1), &port) && port > 0 && port <= 65535;
}

// "50g", "512m", "1048576" (what nginx takes as a size) in bytes; 0 for
// anything else.
uint64_t size_bytes(std::string_view text) {
  if (text.empty()) return 0;
  std::string_view digits = text;
  size_t unit = std::string_view("kmg").find(
      static_cast<char>(std::tolower(static_cast<unsigned char>(text.back()))));
  int shift = unit == std::string_view::npos ? 0 : 10 * static_cast<int>(unit + 1);
  if (shift) digits = text.substr(0, text.size() - 1);
  uint64_t value = 0;
  if (!parse_uint64(digits, &value) || value == 0 || value > (uint64_t{1} << (62 - shift)))
    return 0;
  return value << shift;
}

bool is_plain_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return false;
  for (char c : path)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '.' && c != '-' &&
        c != '_' && c != '+')
      return false;
  return true;
}

}  // namespace

Result<std::string> building_cache_nginx_config(const BuildingCacheOptions& options) {
  std::string upstream = options.upstream;
  if (starts_with(upstream, "https://"))
    return invalid("--upstream " + upstream +
                   ": the cache reaches the server over plain HTTP (a cache that is to keep "
                   "blocks must read them; clients verify them against the signed manifest)");
  if (!starts_with(upstream, "http://"))
    return invalid("--upstream wants the server's URL, http://HOST[:PORT], not '" + upstream + "'");
  upstream = upstream.substr(7);
  if (ends_with(upstream, "/")) upstream.pop_back();
  if (!is_authority(upstream))
    return invalid("--upstream wants http://HOST[:PORT] with no path, not '" + options.upstream +
                   "'");
  if (upstream.find(':') == std::string::npos || upstream.back() == ']') upstream += ":80";
  if (!is_authority(options.listen) || options.listen.rfind(':') == std::string::npos ||
      options.listen.back() == ']')
    return invalid("--listen wants ADDRESS:PORT, not '" + options.listen + "'");
  if (!is_plain_path(options.cache_dir))
    return invalid("--cache-dir wants an absolute path of letters, digits and / . - _ +, not '" +
                   options.cache_dir + "'");
  uint64_t cache_bytes = size_bytes(options.cache_size);
  if (cache_bytes == 0)
    return invalid("--cache-size wants a size such as 50g or 512m, not '" + options.cache_size +
                   "'");
  uint64_t slice_bytes = size_bytes(options.slice_size);
  if (slice_bytes == 0)
    return invalid("--slice wants a size such as 64k or 1m, not '" + options.slice_size + "'");
  // nginx keeps about 8000 keys per megabyte of its keys zone: room for a
  // full cache of slices, so the zone never evicts what the disk holds.
  uint64_t zone_megabytes = std::max<uint64_t>(16, cache_bytes / slice_bytes / 8000 + 1);

  // What the building's clients use: the listen address, unless it is a
  // wildcard.
  std::string client_url = "http://" + options.listen;
  if (starts_with(options.listen, "0.0.0.0:") || starts_with(options.listen, "[::]:"))
    client_url = "http://CACHE-ADDRESS" + options.listen.substr(options.listen.rfind(':'));
  std::string c;
  c += "# goldroot building cache in front of http://" + upstream + "\n";
  c += "# (goldroot serve nginx-config --upstream " + options.upstream + " --listen " +
       options.listen + "\n#  --cache-dir " + options.cache_dir + " --cache-size " +
       options.cache_size + " --slice " + options.slice_size + ")\n";
  c += "# Goes inside nginx's http block, e.g. /etc/nginx/conf.d/goldroot-cache.conf.\n";
  c += "# Point the building's clients at " + client_url + ": their DHCP chains iPXE to\n";
  c += "# " + client_url + "/boot/${netX/mac}.ipxe, and every URL after that\n";
  c += "# names this cache (the server writes the address the client used).\n";
  c += "#\n";
  c += "# Cached: content-addressed, immutable files (images, verity trees, kernels,\n";
  c += "# initrds), in slices, each fetched from the server once per building.\n";
  c += "# Clients verify every byte against their signed manifest.\n";
  c += "# Not cached: everything else (iPXE scripts, challenges, signed manifests,\n";
  c += "# host layers, reports, uploads, the admin API): it passes through with the\n";
  c += "# client's signature headers, and the server checks them as if direct.\n";
  c += "\n";
  c += "proxy_cache_path " + options.cache_dir +
       " levels=1:2 keys_zone=goldroot_blocks:" + std::to_string(zone_megabytes) +
       "m max_size=" + options.cache_size + " inactive=30d use_temp_path=off;\n";
  c += "\n";
  c += "upstream goldroot_central {\n";
  c += "    server " + upstream + ";\n";
  c += "    keepalive 32;\n";
  c += "}\n";
  c += "\n";
  c += "server {\n";
  c += "    listen " + options.listen + ";\n";
  c += "    # Uploads (capture --host) stream to the server, which enforces its limit.\n";
  c += "    client_max_body_size 0;\n";
  c += "    proxy_http_version 1.1;\n";
  c += "\n";
  c += "    # Content-addressed and immutable. The server is asked for exactly the\n";
  c += "    # path the cache keys on ($uri, checked by this pattern), never the raw\n";
  c += "    # request, so nothing but these files can land in the cache.\n";
  c += "    location ~ \"^/(images|objects|initrd)/[0-9a-f]{64}(\\.[a-z]+)?(\\.patch-[0-9a-f]{64})?$\" {\n";
  c += "        slice " + options.slice_size + ";\n";
  c += "        proxy_cache goldroot_blocks;\n";
  c += "        proxy_cache_key $uri$slice_range;\n";
  c += "        proxy_cache_valid 200 206 365d;\n";
  c += "        # A boot storm: one fetch per slice, the other clients wait for it.\n";
  c += "        proxy_cache_lock on;\n";
  c += "        proxy_cache_lock_timeout 120s;\n";
  c += "        proxy_cache_lock_age 120s;\n";
  c += "        proxy_set_header Range $slice_range;\n";
  c += "        proxy_set_header Connection \"\";\n";
  c += "        proxy_set_header Host $proxy_host;\n";
  c += "        # A slice serves every client behind the cache, booting or not: it is\n";
  c += "        # never fetched in the server's background-fill lane.\n";
  c += "        proxy_set_header X-Goldroot-Fill \"\";\n";
  c += "        proxy_pass http://goldroot_central$uri;\n";
  c += "        add_header X-Cache-Status $upstream_cache_status always;\n";
  c += "    }\n";
  c += "\n";
  c += "    # Per host, or changing: passed through, never stored.\n";
  c += "    location / {\n";
  c += "        proxy_cache off;\n";
  c += "        proxy_buffering off;\n";
  c += "        proxy_request_buffering off;\n";
  c += "        proxy_read_timeout 300s;\n";
  c += "        proxy_send_timeout 300s;\n";
  c += "        proxy_set_header Connection \"\";\n";
  c += "        # iPXE scripts name the address the client used: this cache.\n";
  c += "        proxy_set_header Host $http_host;\n";
  c += "        # For the admin's eyes only: goldroot trusts no forwarded address.\n";
  c += "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n";
  c += "        proxy_pass http://goldroot_central;\n";
  c += "    }\n";
  c += "}\n";
  return c;
}

}  // namespace goldroot

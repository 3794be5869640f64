#include "bootserver/building_cache.h"

#include <gtest/gtest.h>

#include "base/testing/testing.h"

namespace goldroot {
namespace {

BuildingCacheOptions building() {
  BuildingCacheOptions options;
  options.upstream = "http://10.1.0.1:8080";
  options.listen = "10.2.0.1:8080";
  return options;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(BuildingCacheTest, CachesOnlyContentAddressedPathsInLockedSlices) {
  ASSERT_OK_AND_ASSIGN(std::string config, building_cache_nginx_config(building()));
  EXPECT_TRUE(contains(config, "server 10.1.0.1:8080;"));
  EXPECT_TRUE(contains(config, "listen 10.2.0.1:8080;"));
  EXPECT_TRUE(
      contains(config, "location ~ \"^/(images|objects|initrd)/[0-9a-f]{64}(\\.[a-z]+)?(\\.patch-[0-9a-f]{64})?$\""));
  EXPECT_TRUE(contains(config, "slice 64k;"));
  EXPECT_TRUE(contains(config, "proxy_cache_lock on;"));
  EXPECT_TRUE(contains(config, "proxy_cache_key $uri$slice_range;"));
  // The server is asked for the path the cache keys on, not the raw request.
  EXPECT_TRUE(contains(config, "proxy_pass http://goldroot_central$uri;"));
  // A slice serves booting clients too: never in the server's fill lane.
  EXPECT_LT(config.find("proxy_set_header X-Goldroot-Fill \"\";"), config.find("location / {"));
  // One proxy_cache that stores, in the content-addressed location only.
  size_t cache = config.find("proxy_cache goldroot_blocks;");
  ASSERT_NE(cache, std::string::npos);
  EXPECT_EQ(config.find("proxy_cache goldroot_blocks;", cache + 1), std::string::npos);
  size_t pass_through = config.find("location / {");
  ASSERT_NE(pass_through, std::string::npos);
  EXPECT_LT(cache, pass_through);
  std::string rest = config.substr(pass_through);
  EXPECT_TRUE(contains(rest, "proxy_cache off;"));
  EXPECT_TRUE(contains(rest, "proxy_set_header Host $http_host;"));
  EXPECT_TRUE(contains(rest, "proxy_request_buffering off;"));
  EXPECT_TRUE(contains(config, "# http://10.2.0.1:8080/boot/${netX/mac}.ipxe"));
}

TEST(BuildingCacheTest, SizesDirectoryAndSliceAreTheCallers) {
  BuildingCacheOptions options = building();
  options.cache_dir = "/srv/cache/goldroot";
  options.cache_size = "200g";
  options.slice_size = "256k";
  options.upstream = "http://central.example.org/";
  ASSERT_OK_AND_ASSIGN(std::string config, building_cache_nginx_config(options));
  EXPECT_TRUE(contains(config, "proxy_cache_path /srv/cache/goldroot levels=1:2"));
  EXPECT_TRUE(contains(config, "max_size=200g"));
  // Keys for every 256 KiB slice of 200 GiB, at 8000 a megabyte.
  EXPECT_TRUE(contains(config, "keys_zone=goldroot_blocks:103m "));
  EXPECT_TRUE(contains(config, "slice 256k;"));
  EXPECT_TRUE(contains(config, "server central.example.org:80;"));
  options.upstream = "http://[fd00::1]:8080";
  ASSERT_OK_AND_ASSIGN(config, building_cache_nginx_config(options));
  EXPECT_TRUE(contains(config, "server [fd00::1]:8080;"));
  options.listen = "0.0.0.0:3128";
  ASSERT_OK_AND_ASSIGN(config, building_cache_nginx_config(options));
  EXPECT_TRUE(contains(config, "listen 0.0.0.0:3128;"));
  EXPECT_TRUE(contains(config, "# http://CACHE-ADDRESS:3128/boot/${netX/mac}.ipxe"));
}

TEST(BuildingCacheTest, RefusesWhatNginxWouldReadAsSyntax) {
  auto refused = [](void (*change)(BuildingCacheOptions&)) {
    BuildingCacheOptions options = building();
    change(options);
    auto config = building_cache_nginx_config(options);
    return !config.ok() && config.error().code == ErrorCode::kInvalidArgument;
  };
  EXPECT_TRUE(refused([](auto& o) { o.upstream = "https://10.1.0.1:8443"; }));
  EXPECT_TRUE(refused([](auto& o) { o.upstream = "10.1.0.1:8080"; }));
  EXPECT_TRUE(refused([](auto& o) { o.upstream = "http://10.1.0.1:8080/goldroot"; }));
  EXPECT_TRUE(refused([](auto& o) { o.upstream = "http://a;b"; }));
  EXPECT_TRUE(refused([](auto& o) { o.upstream = "http://a:99999"; }));
  EXPECT_TRUE(refused([](auto& o) { o.listen = "8080"; }));
  EXPECT_TRUE(refused([](auto& o) { o.listen = "0.0.0.0:80; include /etc/passwd"; }));
  EXPECT_TRUE(refused([](auto& o) { o.cache_dir = "relative/dir"; }));
  EXPECT_TRUE(refused([](auto& o) { o.cache_dir = "/var/cache/x y"; }));
  EXPECT_TRUE(refused([](auto& o) { o.cache_size = "lots"; }));
  EXPECT_TRUE(refused([](auto& o) { o.slice_size = "0"; }));
  EXPECT_TRUE(refused([](auto& o) { o.slice_size = "1t"; }));
  EXPECT_TRUE(refused([](auto& o) { o.cache_size = "99999999999999999999g"; }));
}

}  // namespace
}  // namespace goldroot

#!/usr/bin/env bash
# One QEMU client boots on demand (fetch=demand) through a building cache:
# nginx with the configuration `goldroot serve nginx-config` prints, on a
# second address of the lab's bridge (10.77.0.2), and `goldroot serve --url`
# pointing DHCP's iPXE chain at it. (The cache shares the lab's namespace: a
# second namespace with routing would prove no more about the client — the
# server's log shows who asked — and the PXE boot, ~77 s under TCG, is this
# test's cost, not the network.)
# Asserts:
#   1. the client boots its image on demand (erofs on dm-verity);
#   2. the server never heard from the client itself: every request in its
#      access log came from the cache, and they include the client's
#      signed manifest, its layer and its image ranges; nginx's log shows
#      the client asking;
#   3. each byte range of the image left the server at most once.
# Prints the figures: bytes of the image the server sent, and that the
# client fetched through the cache.
source "$(dirname "$0")/lib.sh"
require_root
command -v qemu-system-x86_64 >/dev/null || require "qemu-system-x86"
command -v dnsmasq >/dev/null || require "dnsmasq"
command -v debootstrap >/dev/null || require "debootstrap"
command -v nginx >/dev/null || require "nginx (nginx-light)"
nginx -V 2>&1 | grep -q with-http_slice_module || require "nginx with the slice module"

cache=${GOLDROOT_CACHE:-/var/cache/goldroot}
"$SOURCE_DIR/scripts/build-rootfs.sh" "$cache/demo-rootfs" linux-image-amd64 systemd systemd-sysv \
  || fail "building the image with debootstrap"
goldroot=$GOLDROOT
LAB_NS=goldroot-bcache-$$
source "$SOURCE_DIR/scripts/lib/lab.sh"

gr init >/dev/null
gr image import "$cache/demo-rootfs" --name lab -m "bookworm with kernel and systemd" >/dev/null
gr image export lab >/dev/null
gr channel set gold lab >/dev/null
gr network add 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1 >/dev/null
gr lab add building --network 10.77.0.0/24 --enroll first-use --fetch demand >/dev/null
client_ip=10.77.0.41
gr host add cached01 --mac 52:54:00:78:00:21 --ip $client_ip --lab building >/dev/null
lab_probe_layer poweroff

chmod 0755 "$WORK"  # dnsmasq and nginx's workers run as nobody
lab_up "$WORK/lab"
on_exit lab_down
logs=${GOLDROOT_LAB_LOGS:-/tmp/goldroot-lab-logs}/building_cache
on_exit "rm -rf $logs; mkdir -p $logs; cp $WORK/lab/*.log $WORK/nginx/*.log $logs/ 2>/dev/null"

cache_ip=10.77.0.2
ip -n "$LAB_NS" addr add $cache_ip/24 dev "$LAB_BRIDGE"
nginx_dir=$WORK/nginx
mkdir -p "$nginx_dir"
gr serve nginx-config --upstream "http://$LAB_SERVER_IP:$LAB_PORT" --listen "$cache_ip:8080" \
  --cache-dir "$nginx_dir/cache" --cache-size 2g >"$nginx_dir/goldroot-cache.conf"
cat >"$nginx_dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $nginx_dir/nginx.pid;
error_log $nginx_dir/error.log;
events { worker_connections 256; }
http {
  access_log $nginx_dir/access.log;
  client_body_temp_path $nginx_dir/body;
  proxy_temp_path $nginx_dir/proxy;
  fastcgi_temp_path $nginx_dir/fastcgi;
  uwsgi_temp_path $nginx_dir/uwsgi;
  scgi_temp_path $nginx_dir/scgi;
  include $nginx_dir/goldroot-cache.conf;
}
CONF
ip netns exec "$LAB_NS" nginx -q -c "$nginx_dir/nginx.conf" -p "$nginx_dir" &
nginx_pid=$!
on_exit "kill $nginx_pid 2>/dev/null; wait $nginx_pid 2>/dev/null"
# DHCP chains the lab's iPXE to the cache.
lab_serve --url "http://$cache_ip:8080" || fail "goldroot serve did not start"
for _ in $(seq 1 100); do
  ip netns exec "$LAB_NS" curl -s -o /dev/null "http://$cache_ip:8080/api/v1/challenge" && break
  sleep 0.1
done
grep -q "chainloading to http://$cache_ip:8080" "$LAB_DIR/serve.log" || fail "serve log: $(cat "$LAB_DIR/serve.log")"

probe() {
  tr -d '\r' <"$LAB_DIR/$1.log" | grep -aoE "PROBE $2=[^[:space:]]*" | tail -1 | cut -d= -f2-
}
lab_boot cached01 52:54:00:78:00:21
lab_wait cached01 'PROBE done' 900 || fail "cached01 did not finish booting (see its console above)"
lab_stopped cached01 300 || fail "cached01 did not power off"

# 1. It booted its image on demand.
[ "$(probe cached01 fstype)" = overlay ] || fail "cached01's root is $(probe cached01 fstype)"
[ "$(probe cached01 image)" = erofs ] || fail "cached01's image is $(probe cached01 image)"
[ "$(probe cached01 hostname)" = cached01 ] || fail "cached01's hostname is $(probe cached01 hostname) (its layer?)"
ok "cached01 booted its image on demand through the building cache, with its own layer"

# 2. Everything it asked went through the cache.
access_log=$GOLDROOT_SITE/logs/access.log
grep -q "\"client\":\"$client_ip:" "$access_log" &&
  fail "the server heard from cached01 directly: $(grep "\"client\":\"$client_ip:" "$access_log" | head -3)"
grep -q '"path":"/api/v1/boot/' "$access_log" || fail "no manifest request reached the server"
grep -q '"path":"/layers/cached01.tar","status":200' "$access_log" || fail "no layer reached cached01"
grep -q "^$client_ip .*\"GET /api/v1/boot/" "$nginx_dir/access.log" || fail "nginx did not see cached01's manifest request"
grep -q "^$client_ip .*\"GET /images/" "$nginx_dir/access.log" || fail "nginx did not see cached01's image reads"
ok "the server's access log has cached01's manifest, layer and image requests, all from the cache, none from cached01"

# 3. Each range of the image left the server once.
read -r sent ranges <<<"$(python3 - "$access_log" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
image = [l for l in lines if l["path"].startswith("/images/") and l["path"].endswith(".erofs")]
ranges = [l.get("range", "whole") for l in image]
if len(ranges) != len(set(ranges)):
    sys.exit("a range of the image left the server twice")
print(sum(l["bytes"] for l in image), len(ranges))
PY
)" || fail "the image's ranges"
client_bytes=$(awk -v ip="$client_ip" '$1 == ip && $7 ~ /^\/images\/.*\.erofs$/ { sum += $10 } END { print sum + 0 }' "$nginx_dir/access.log")
image_size=$(find "$GOLDROOT_SITE/exports" -name '*.erofs' -exec stat -c %s {} + | head -1)
ok "each image range left the server once ($ranges slices)"
echo "figures: the server sent $sent bytes of the $image_size-byte image to the cache; cached01 read $client_bytes bytes of it through the cache"
finish

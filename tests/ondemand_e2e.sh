#!/usr/bin/env bash
# The end-to-end lab for images served on demand (fetch=demand) through a
# building cache: two QEMU clients PXE-boot the demo image at the same time
# from `goldroot serve --dhcp full` in a private network namespace, whose
# DHCP (`serve --url`) chains their iPXE to nginx running the configuration
# `goldroot serve nginx-config` prints, on a second address of the lab's
# bridge (10.77.0.2). (The cache shares the lab's namespace: a namespace of
# its own with routing would prove no more about the clients, since the
# server's log shows who asked, and each PXE boot costs minutes of CPU.)
# Asserts:
#   1. a diskless client boots with its image served by goldroot-blockd
#      through NBD and dm-verity (no download before the mount): its image
#      mount is erofs on a dm device, the daemon's '@' name spares it from
#      systemd's shutdown sweep, and it fetched a fraction of the image;
#   2. the server never heard from either client: every request in its
#      access log came from the cache, among them each client's signed
#      manifest and layer and image ranges; nginx's log shows them asking;
#   3. a client with a data disk fills the rest of the image onto its disk
#      in the background, moves its running root onto the local copy (the
#      dm table reloaded over a loop device) and its daemon exits; `goldroot
#      status` shows it "local" and the diskless one "network N%";
#   4. each byte range of the image left the server once, though both
#      clients read the boot's blocks and one read the whole image;
#   5. after `goldroot serve` is stopped, the client with a disk reads files
#      it never read before, and their digests are those of the image.
# Prints the figures for the issue notes (seconds to login, bytes fetched
# before the login prompt, seconds from boot until the root is local, bytes
# the server sent through the cache).
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
LAB_NS=goldroot-ondemand-$$
source "$SOURCE_DIR/scripts/lib/lab.sh"

gr init >/dev/null
gr image import "$cache/demo-rootfs" --name lab -m "bookworm with kernel and systemd" >/dev/null
gr image export lab >/dev/null
gr channel set gold lab >/dev/null
gr network add 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1 >/dev/null
gr lab add od --network 10.77.0.0/24 --enroll first-use --fetch demand >/dev/null
diskless_ip=10.77.0.31 disk_ip=10.77.0.32
gr host add diskless01 --mac 52:54:00:78:00:11 --ip $diskless_ip --lab od >/dev/null
gr host add disk01 --mac 52:54:00:78:00:12 --ip $disk_ip --lab od >/dev/null
image_size=$(find "$GOLDROOT_SITE/exports" -name '*.erofs' -exec stat -c %s {} + | head -1)

# Both clients stay up (the probe's "alive" line every 10 s rereads a file of
# the image with the page cache dropped) and report every 10 s.
lab_probe_layer
mkdir -p "$GOLDROOT_SITE/layers/labs/od/etc/goldroot"
echo "interval = 10" >"$GOLDROOT_SITE/layers/labs/od/etc/goldroot/agent.conf"
# What the daemon says, at the probe (before the login prompt).
layer=$GOLDROOT_SITE/layers/labs/od
mkdir -p "$layer/usr/local/sbin" "$layer/etc/systemd/system/multi-user.target.wants"
cat >"$layer/usr/local/sbin/goldroot-ondemand-probe" <<'EOF'
#!/bin/bash
# What the on-demand test reads on the serial console: with "now", what the
# daemon says at the probe (before the login prompt); with "offline", on a
# client with a disk, waits for the move onto the local copy, then for the
# server to go away, then reads what was never read.
status=/run/goldroot/blockd.json
field() { sed -n "s/.*\"$1\": *\"\{0,1\}\([^,\"}]*\).*/\1/p" "$status" | head -1; }
say() { echo "PROBE $*" >/dev/ttyS0; }
pid=$(field pid)
if [ "$1" = now ]; then
  say "image_source=$(findmnt -n -o SOURCE /run/goldroot/image)"
  say "backing=$(field backing)"
  say "fetched=$(field fetched_bytes)"
  say "daemon_name=$(tr '\0' ' ' </proc/$pid/cmdline 2>/dev/null | cut -c1-16)"
  exit 0
fi
[ -e /etc/goldroot-ondemand-offline ] || exit 0
for _ in $(seq 1 900); do
  [ "$(field backing)" = local ] && break
  sleep 1
done
say "moved=$(field backing) uptime=$(cut -d. -f1 /proc/uptime)"
daemon_gone=yes
kill -0 "$pid" 2>/dev/null && daemon_gone=no
say "daemon_gone=$daemon_gone"
for _ in $(seq 1 900); do
  timeout 2 bash -c 'exec 3<>/dev/tcp/10.77.0.1/8080' 2>/dev/null || break
  sleep 1
done
echo 3 >/proc/sys/vm/drop_caches
digest=$(cd / && find usr/share/doc usr/share/zoneinfo -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-64)
say "offline_read=$digest"
EOF
chmod 755 "$layer/usr/local/sbin/goldroot-ondemand-probe"
# "now" runs before the serial getty, whose hangup of ttyS0 would cut its lines.
cat >"$layer/etc/systemd/system/goldroot-ondemand-probe.service" <<'EOF'
[Unit]
Description=goldroot on-demand probe
After=goldroot-probe.service
Before=serial-getty@ttyS0.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/goldroot-ondemand-probe now
EOF
cat >"$layer/etc/systemd/system/goldroot-ondemand-offline.service" <<'EOF'
[Unit]
Description=goldroot on-demand probe: reading offline after the move
After=goldroot-ondemand-probe.service

[Service]
Type=simple
ExecStart=/usr/local/sbin/goldroot-ondemand-probe offline
EOF
for unit in goldroot-ondemand-probe goldroot-ondemand-offline; do
  ln -sf ../$unit.service "$layer/etc/systemd/system/multi-user.target.wants/$unit.service"
done
mkdir -p "$GOLDROOT_SITE/layers/hosts/disk01/etc"
: >"$GOLDROOT_SITE/layers/hosts/disk01/etc/goldroot-ondemand-offline"
# What the client will read offline, as the image has it.
expected=$(cd "$cache/demo-rootfs" && find usr/share/doc usr/share/zoneinfo -type f | LC_ALL=C sort |
  xargs sha256sum | sha256sum | cut -c1-64)

chmod 0755 "$WORK"  # dnsmasq and nginx's workers run as nobody
lab_up "$WORK/lab"
on_exit lab_down
logs=${GOLDROOT_LAB_LOGS:-/tmp/goldroot-lab-logs}/ondemand
on_exit "rm -rf $logs; mkdir -p $logs; cp $WORK/lab/*.log $WORK/nginx/*.log $logs/ 2>/dev/null"

# The building cache.
cache_ip=10.77.0.2
ip -n "$LAB_NS" addr add $cache_ip/24 dev "$LAB_BRIDGE"
nginx_dir=$WORK/nginx
start_building_cache "$LAB_NS" "$nginx_dir" "http://$LAB_SERVER_IP:$LAB_PORT" "$cache_ip:8080" 2g
on_exit "kill \$nginx_pid 2>/dev/null; wait \$nginx_pid 2>/dev/null"
# DHCP chains the lab's iPXE to the cache.
lab_serve --url "http://$cache_ip:8080" || fail "goldroot serve did not start"
grep -q "chainloading to http://$cache_ip:8080" "$LAB_DIR/serve.log" || fail "serve log: $(cat "$LAB_DIR/serve.log")"
access_log=$GOLDROOT_SITE/logs/access.log

status_root() {  # HOST: its ROOT column as `goldroot status --json` has it
  gr status --json | python3 -c "
import json, sys
h = {h['name']: h for h in json.load(sys.stdin)}['$1']
r = h['root'] or {}
print(r.get('backing', '-'), r.get('fill_percent', '-'))"
}

disk=$(lab_disk disk01 2G)
lab_boot diskless01 52:54:00:78:00:11
lab_boot disk01 52:54:00:78:00:12 "$disk"
for name in diskless01 disk01; do
  lab_wait "$name" 'PROBE done' 900 || fail "$name did not finish booting (see its console above)"
  lab_wait "$name" 'login:' 180 || fail "$name showed no login prompt"
done
diskless_login=$(lab_seconds_to diskless01 'login:')
disk_login=$(lab_seconds_to disk01 'login:')
lab_wait diskless01 'PROBE daemon_name=' 60 || fail "diskless01's on-demand probe did not run"

# 1. The diskless client's root is the image served on demand.
[ "$(lab_probe diskless01 fstype)" = overlay ] || fail "diskless01's root is $(lab_probe diskless01 fstype)"
[ "$(lab_probe diskless01 hostname)" = diskless01 ] || fail "diskless01's hostname is $(lab_probe diskless01 hostname) (its layer?)"
[ "$(lab_probe diskless01 image)" = erofs ] || fail "diskless01's image is $(lab_probe diskless01 image), not erofs"
case "$(lab_probe diskless01 image_source)" in
  /dev/dm-*|/dev/mapper/*) ;;
  *) fail "diskless01's image is mounted from $(lab_probe diskless01 image_source), not goldroot-blockd's dm-verity device" ;;
esac
[ "$(lab_probe diskless01 backing)" = network ] || fail "diskless01's blockd says backing=$(lab_probe diskless01 backing)"
[[ "$(lab_probe diskless01 daemon_name)" == @* ]] ||
  fail "goldroot-blockd's command line does not start with @: $(lab_probe diskless01 daemon_name)"
fetched=$(lab_probe diskless01 fetched)
[ -n "$fetched" ] && [ "$fetched" -lt "$image_size" ] ||
  fail "diskless01 fetched ${fetched:-?} bytes of a $image_size-byte image before its login prompt"
ok "diskless01 boots its image on demand (dm-verity over goldroot-blockd, '@' daemon): $((fetched >> 20)) MiB of $((image_size >> 20)) MiB fetched by the probe"

# 2. Everything they asked went through the cache.
for client in diskless01=$diskless_ip disk01=$disk_ip; do
  name=${client%=*} ip=${client#*=}
  grep -q "\"client\":\"$ip:" "$access_log" &&
    fail "the server heard from $name directly: $(grep "\"client\":\"$ip:" "$access_log" | head -3)"
  grep -q "\"path\":\"/layers/$name.tar\",\"status\":200" "$access_log" || fail "no layer reached $name"
  grep -q "^$ip .*\"GET /api/v1/boot/" "$nginx_dir/access.log" || fail "nginx did not see $name's manifest request"
  grep -q "^$ip .*\"GET /images/" "$nginx_dir/access.log" || fail "nginx did not see $name's image reads"
done
grep -q '"path":"/api/v1/boot/' "$access_log" || fail "no manifest request reached the server"
ok "the server's access log has both clients' manifests, layers and image reads, all from the cache, none from a client"

# 3. The client with a disk moves onto its local copy.
lab_wait disk01 'PROBE moved=' 900 || fail "disk01's root never became local: $(cat "$LAB_DIR/disk01.log" | tail -5)"
[ "$(lab_probe disk01 moved)" = local ] || fail "disk01: backing $(lab_probe disk01 moved)"
moved_after=$(tr -d '\r' <"$LAB_DIR/disk01.log" | grep -aoE 'PROBE moved=local uptime=[0-9]+' | tail -1 | sed 's/.*uptime=//')
[ "$(lab_probe disk01 daemon_gone)" = yes ] || fail "disk01's goldroot-blockd still runs after the move"
for _ in $(seq 1 60); do
  [ "$(status_root disk01)" = "local 100" ] && break
  sleep 2
done
[ "$(status_root disk01)" = "local 100" ] || fail "status shows disk01's root as $(status_root disk01), not local"
read -r backing percent <<<"$(status_root diskless01)"
[ "$backing" = network ] || fail "status shows diskless01's root as $backing $percent"
gr status | grep -E "^disk01 .* local " >/dev/null || fail "status table: $(gr status)"
ok "disk01 filled its disk and moved its root onto it in the background (local at ${moved_after}s uptime); status: disk01 local, diskless01 network $percent%"

# 4. Each range of the image left the server once.
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
through_cache=$(awk '$7 ~ /^\/images\/.*\.erofs$/ { sum += $10 } END { print sum + 0 }' "$nginx_dir/access.log")
ok "each image range left the server once ($ranges slices, $((sent >> 20)) MiB), though the clients read $((through_cache >> 20)) MiB of it through the cache"

# 5. The server goes away; disk01 keeps reading what it never read.
kill "$LAB_SERVE_PID"
wait "$LAB_SERVE_PID" 2>/dev/null || true
LAB_SERVE_PID=
lab_wait disk01 'PROBE offline_read=' 600 || fail "disk01 did not finish reading with the server stopped"
[ "$(lab_probe disk01 offline_read)" = "$expected" ] ||
  fail "disk01 read other bytes offline: $(lab_probe disk01 offline_read), the image has $expected"
ok "with goldroot serve stopped, disk01 reads files it never read, and they are the image's"

echo "figures: login diskless01 ${diskless_login}s, disk01 ${disk_login}s; fetched before the probe $((fetched >> 10)) KiB of $((image_size >> 10)) KiB; disk01 local at ${moved_after}s uptime; the server sent $sent bytes of the image to the cache, the clients read $through_cache bytes through it"
finish

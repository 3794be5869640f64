#!/usr/bin/env bash
# The end-to-end lab for images served on demand (fetch=demand): two QEMU
# clients PXE-boot the demo image from `goldroot serve --dhcp full` in a
# private network namespace, at the same time.
# Asserts:
#   1. a diskless client boots with its image served by goldroot-blockd
#      through NBD and dm-verity (no download before the mount): its image
#      mount is erofs on a dm device, the daemon's '@' name spares it from
#      systemd's shutdown sweep, and it fetched a fraction of the image;
#   2. a client with a data disk fills the rest of the image onto its disk
#      in the background, moves its running root onto the local copy (the
#      dm table reloaded over a loop device) and its daemon exits; `goldroot
#      status` shows it "local" and the diskless one "network N%";
#   3. after `goldroot serve` is stopped, that client reads files it never
#      read before, and their digests are those of the image.
# Prints the figures for the issue note (seconds to login, bytes fetched
# before the login prompt, seconds from boot until the root is local).
source "$(dirname "$0")/lib.sh"
require_root
command -v qemu-system-x86_64 >/dev/null || require "qemu-system-x86"
command -v dnsmasq >/dev/null || require "dnsmasq"
command -v debootstrap >/dev/null || require "debootstrap"

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
gr host add diskless01 --mac 52:54:00:78:00:11 --ip 10.77.0.31 --lab od >/dev/null
gr host add disk01 --mac 52:54:00:78:00:12 --ip 10.77.0.32 --lab od >/dev/null
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

chmod 0755 "$WORK"  # dnsmasq drops to nobody and reads its files under the site
lab_up "$WORK/lab"
on_exit lab_down
logs=${GOLDROOT_LAB_LOGS:-/tmp/goldroot-lab-logs}/ondemand
on_exit "rm -rf $logs; mkdir -p $logs; cp $WORK/lab/*.log $logs/ 2>/dev/null"
lab_serve || fail "goldroot serve did not start"

probe() {
  tr -d '\r' <"$LAB_DIR/$1.log" | grep -aoE "PROBE $2=[^[:space:]]*" | tail -1 | cut -d= -f2-
}
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
[ "$(probe diskless01 fstype)" = overlay ] || fail "diskless01's root is $(probe diskless01 fstype)"
[ "$(probe diskless01 image)" = erofs ] || fail "diskless01's image is $(probe diskless01 image), not erofs"
case "$(probe diskless01 image_source)" in
  /dev/dm-*|/dev/mapper/*) ;;
  *) fail "diskless01's image is mounted from $(probe diskless01 image_source), not goldroot-blockd's dm-verity device" ;;
esac
[ "$(probe diskless01 backing)" = network ] || fail "diskless01's blockd says backing=$(probe diskless01 backing)"
[[ "$(probe diskless01 daemon_name)" == @* ]] ||
  fail "goldroot-blockd's command line does not start with @: $(probe diskless01 daemon_name)"
fetched=$(probe diskless01 fetched)
[ -n "$fetched" ] && [ "$fetched" -lt "$image_size" ] ||
  fail "diskless01 fetched ${fetched:-?} bytes of a $image_size-byte image before its login prompt"
ok "diskless01 boots its image on demand (dm-verity over goldroot-blockd, '@' daemon): $((fetched >> 20)) MiB of $((image_size >> 20)) MiB fetched by the probe"

# 2. The client with a disk moves onto its local copy.
lab_wait disk01 'PROBE moved=' 900 || fail "disk01's root never became local: $(cat "$LAB_DIR/disk01.log" | tail -5)"
[ "$(probe disk01 moved)" = local ] || fail "disk01: backing $(probe disk01 moved)"
moved_after=$(tr -d '\r' <"$LAB_DIR/disk01.log" | grep -aoE 'PROBE moved=local uptime=[0-9]+' | tail -1 | sed 's/.*uptime=//')
[ "$(probe disk01 daemon_gone)" = yes ] || fail "disk01's goldroot-blockd still runs after the move"
for _ in $(seq 1 60); do
  [ "$(status_root disk01)" = "local 100" ] && break
  sleep 2
done
[ "$(status_root disk01)" = "local 100" ] || fail "status shows disk01's root as $(status_root disk01), not local"
read -r backing percent <<<"$(status_root diskless01)"
[ "$backing" = network ] || fail "status shows diskless01's root as $backing $percent"
gr status | grep -E "^disk01 .* local " >/dev/null || fail "status table: $(gr status)"
ok "disk01 filled its disk and moved its root onto it in the background (local at ${moved_after}s uptime); status: disk01 local, diskless01 network $percent%"

# 3. The server goes away; disk01 keeps reading what it never read.
kill "$LAB_SERVE_PID"
wait "$LAB_SERVE_PID" 2>/dev/null || true
LAB_SERVE_PID=
lab_wait disk01 'PROBE offline_read=' 600 || fail "disk01 did not finish reading with the server stopped"
[ "$(probe disk01 offline_read)" = "$expected" ] ||
  fail "disk01 read other bytes offline: $(probe disk01 offline_read), the image has $expected"
ok "with goldroot serve stopped, disk01 reads files it never read, and they are the image's"

echo "figures: login diskless01 ${diskless_login}s, disk01 ${disk_login}s; fetched before the probe $((fetched >> 10)) KiB of $((image_size >> 10)) KiB; disk01 local at ${moved_after}s uptime"

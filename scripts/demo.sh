#!/usr/bin/env bash
# The demo lab, from a fresh Debian 12 machine (run as root):
#   1. installs what goldroot needs and builds it;
#   2. builds a small Debian image with debootstrap (mirror from apt sources);
#   3. imports it into a fresh site, changes it, imports v2, and shows what an
#      admin sees: the images, their history, and what v2 changed;
#   4. exports the bootable erofs artifact with its signed manifest;
#   5. describes a lab (network, lab, hosts, configuration layers) and points
#      the gold channel at the image;
#   6. starts `goldroot serve --dhcp full` in a private network namespace with
#      a bridge, PXE-boots three QEMU clients (software emulation) from it —
#      two lab PCs in reset mode and one in maintenance mode — and shows what
#      the admin sees;
#   7. captures the maintenance PC's changes while it runs (capture --host),
#      shows what a promote would change, promotes, and shows the lab PCs
#      still running the image they booted; then cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
goldroot=$PWD/build/bin/goldroot
cache=${GOLDROOT_CACHE:-/var/cache/goldroot}
export GOLDROOT_SITE=${GOLDROOT_SITE:-/var/lib/goldroot-demo}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Building a Debian bookworm image with debootstrap (cached in $cache)"
scripts/build-rootfs.sh "$cache/demo-rootfs" linux-image-amd64 systemd systemd-sysv

step "Creating the site $GOLDROOT_SITE"
rm -rf "$GOLDROOT_SITE"
"$goldroot" init

step "goldroot image import $cache/demo-rootfs --name lab"
"$goldroot" image import "$cache/demo-rootfs" --name lab -m "bookworm minbase" --stats

step "The admin changes the tree and imports it again: only the change costs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -a "$cache/demo-rootfs" "$work/tree"
echo "welcome to lab 3" > "$work/tree/etc/motd"
rm -f "$work/tree/usr/share/doc/dash/copyright"
"$goldroot" image import "$work/tree" --name lab -m "lab 3 motd" --stats

step "goldroot image list"
"$goldroot" image list
step "goldroot image log lab"
"$goldroot" image log lab
step "goldroot image diff lab~1 lab"
"$goldroot" image diff lab~1 lab
step "goldroot image fsck"
"$goldroot" image fsck

step "goldroot image export lab (erofs, cached per commit, signed manifest)"
"$goldroot" image export lab

step "A lab: network, lab, hosts, configuration layers"
"$goldroot" network add 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1
# Host keys: lab3-pc03 keeps its key on its disk (trusted on first use);
# diskless lab3-pc01/02 make one per boot, taken only from a privileged
# port and their own IP (the weaker "port" policy; see README, security).
"$goldroot" lab add lab3 --network 10.77.0.0/24 --mode reset --enroll port
for i in 1 2 3; do
  "$goldroot" host add "lab3-pc0$i" --mac "52:54:00:42:00:0$i" --ip "10.77.0.1$i" --lab lab3
done
"$goldroot" host set lab3-pc03 mode=maintenance
# lab3-pc02 reads its image on demand: goldroot-blockd fetches the blocks
# the PC reads, each checked against the image's dm-verity tree.
"$goldroot" host set lab3-pc02 fetch=demand
mkdir -p "$GOLDROOT_SITE/layers/base/etc" "$GOLDROOT_SITE/layers/labs/lab3/etc"
echo "Managed by goldroot. Changes vanish at the next reboot." > "$GOLDROOT_SITE/layers/base/etc/motd"
printf '{{ hostname }}\n' > "$GOLDROOT_SITE/layers/labs/lab3/etc/hostname.tmpl"
# The maintenance PC's admin session, scripted: at boot a unit of its host
# layer makes the change an admin would make by hand (here, a printer list).
maint="$GOLDROOT_SITE/layers/hosts/lab3-pc03/etc/systemd/system"
mkdir -p "$maint/multi-user.target.wants"
cat > "$maint/demo-admin.service" <<'UNIT'
[Unit]
Description=the demo's admin, maintaining lab3-pc03
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'printf "B12-laser  ipp://10.77.0.1/printers/b12\\n" > /etc/lab3-printers; sync'
[Install]
WantedBy=multi-user.target
UNIT
ln -sf ../demo-admin.service "$maint/multi-user.target.wants/demo-admin.service"
# The lab's agents report every 10 s (the default is 60).
mkdir -p "$GOLDROOT_SITE/layers/labs/lab3/etc/goldroot"
echo "interval = 10" > "$GOLDROOT_SITE/layers/labs/lab3/etc/goldroot/agent.conf"
"$goldroot" host list
"$goldroot" layer blame lab3-pc01
"$goldroot" channel set gold lab

step "goldroot serve --dhcp full in a private lab network, and three QEMU clients PXE-boot"
# A network namespace with a bridge stands in for the lab's switch; QEMU's
# iPXE ROM asks dnsmasq (run by goldroot serve), loads the host's menu, the
# image's kernel and initrd and the goldroot initrd; goldroot-boot mounts
# the overlay root; systemd takes over.
source scripts/lib/lab.sh
lab_up "$work/lab"
trap 'lab_down; rm -rf "$work"' EXIT
lab_serve
echo "serving at http://$LAB_SERVER_IP:$LAB_PORT (log: $work/lab/serve.log)"
lab_boot lab3-pc01 52:54:00:42:00:01
lab_boot lab3-pc02 52:54:00:42:00:02
# Maintenance keeps its changes on the PC's disk: a blank one, found by its
# GPT partition name and formatted at first boot.
lab_boot lab3-pc03 52:54:00:42:00:03 "$(lab_disk lab3-pc03 1G)"
for pc in lab3-pc01 lab3-pc02 lab3-pc03; do
  lab_wait "$pc" 'login:' 900
  echo "$pc: login prompt $(lab_seconds_to "$pc" 'login:') s after power-on"
done

step "What the admin sees"
for pc in lab3-pc01 lab3-pc02 lab3-pc03; do
  echo "--- $pc's console (goldroot lines)"
  tr -d '\r' <"$work/lab/$pc.log" | grep -aE '^goldroot|login:' | cut -c1-120 | tail -4
done
echo "--- goldroot host list"
"$goldroot" host list
echo "--- goldroot host keys (each PC proves who it is with a key of its own)"
"$goldroot" host keys
echo "--- goldroot status (from the agents the goldroot initrd installed in the clients)"
for _ in $(seq 1 60); do
  [ "$("$goldroot" status --json | python3 -c 'import json,sys; print(sum(h["state"] == "up" for h in json.load(sys.stdin)))')" -ge 3 ] && break
  sleep 1
done
"$goldroot" status
echo "--- what the clients fetched (access log; on-demand reads summed per file)"
python3 - "$GOLDROOT_SITE/logs/access.log" <<'PY'
import collections, json, sys
fetched = collections.OrderedDict()
for line in open(sys.argv[1]):
    r = json.loads(line)
    key = (r['client'].split(':')[0], r['status'], r['path'][:70])
    requests, total = fetched.get(key, (0, 0))
    fetched[key] = (requests + 1, total + r['bytes'])
for (client, status, path), (requests, total) in fetched.items():
    print(f"{client:>15}  {status}  {requests:>5} requests  {total:>11} bytes  {path}")
PY

step "Maintenance: capture lab3-pc03's changes while it runs, then promote"
# Its agent uploads the upper layer; boot noise (machine id, logs) stays out.
"$goldroot" capture --host lab3-pc03 --name lab -m "lab3 printers" --wait 300 --yes
echo "--- goldroot image diff gold test (what the promote changes)"
"$goldroot" image diff gold test
"$goldroot" promote
"$goldroot" channel list
echo "--- goldroot status: the lab PCs keep the image they booted until their next reboot"
"$goldroot" status
step "Cleaning up: clients off, server stopped, namespace removed"

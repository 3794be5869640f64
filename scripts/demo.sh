#!/usr/bin/env bash
# The demo lab, from a fresh Debian 12 machine (run as root):
#   1. installs what goldroot needs and builds it;
#   2. builds a small Debian image with debootstrap (mirror from apt sources);
#   3. imports it into a fresh site, changes it, imports v2, and shows what an
#      admin sees: the images, their history, and what v2 changed;
#   4. exports the bootable erofs artifact with its signed manifest;
#   5. describes a lab (network, lab, hosts, configuration layers), points
#      the gold channel at the image, starts the boot server on loopback and
#      fetches what a booting client would.
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
"$goldroot" network add 10.42.0.0/24 --gateway 10.42.0.1 --dns 10.42.0.1
"$goldroot" lab add lab3 --network 10.42.0.0/24 --mode reset
for i in 1 2 3; do
  "$goldroot" host add "lab3-pc0$i" --mac "52:54:00:42:00:0$i" --ip "10.42.0.1$i" --lab lab3
done
"$goldroot" host set lab3-pc03 mode=maintenance
mkdir -p "$GOLDROOT_SITE/layers/base/etc" "$GOLDROOT_SITE/layers/labs/lab3/etc"
echo "Managed by goldroot. Changes vanish at the next reboot." > "$GOLDROOT_SITE/layers/base/etc/motd"
printf '{{ hostname }}\n' > "$GOLDROOT_SITE/layers/labs/lab3/etc/hostname.tmpl"
"$goldroot" host list
"$goldroot" layer blame lab3-pc01
"$goldroot" channel set gold lab

step "goldroot serve, and what a booting client fetches"
port=18080
"$goldroot" serve --listen "127.0.0.1:$port" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do curl -s "http://127.0.0.1:$port/api/v1/hosts" >/dev/null && break; sleep 0.1; done
echo "GET /api/v1/boot/52:54:00:42:00:01"
curl -s "http://127.0.0.1:$port/api/v1/boot/52:54:00:42:00:01" | head -c 600; echo
echo "GET /layers/lab3-pc01.tar"
curl -s "http://127.0.0.1:$port/layers/lab3-pc01.tar" | tar -tvf -
kill $server; wait $server 2>/dev/null || true

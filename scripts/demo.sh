#!/usr/bin/env bash
# The demo lab, from a fresh Debian 12 machine (run as root):
#   1. installs what goldroot needs and builds it;
#   2. builds a small Debian image with debootstrap (mirror from apt sources);
#   3. imports it into a fresh site, changes it, imports v2, and shows what an
#      admin sees: the images, their history, and what v2 changed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
goldroot=$PWD/build/bin/goldroot
cache=${GOLDROOT_CACHE:-/var/cache/goldroot}
export GOLDROOT_SITE=${GOLDROOT_SITE:-/var/lib/goldroot-demo}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Building a Debian bookworm image with debootstrap (cached in $cache)"
scripts/build-rootfs.sh "$cache/demo-rootfs"

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

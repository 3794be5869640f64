#!/usr/bin/env bash
# Boot times of QEMU clients (software emulation, -accel tcg), QEMU start to
# the serial login prompt: one client PXE-booting the demo image from
# `goldroot serve --dhcp full`, three at once, and — the peer — the same
# image installed on a local virtual disk (ext4 root, kernel and initrd
# given to QEMU directly, no network). Run as root after scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
goldroot=$PWD/build/bin/goldroot
cache=${GOLDROOT_CACHE:-/var/cache/goldroot}
scripts/build-rootfs.sh "$cache/demo-rootfs" linux-image-amd64 systemd systemd-sysv
work=$(mktemp -d)
chmod 0755 "$work"
export GOLDROOT_SITE=$work/site
source scripts/lib/lab.sh
source bench/lib/bench.sh
trap 'lab_down; rm -rf "$work"' EXIT

"$goldroot" init >/dev/null
# Benchmark clients are trusted on first use (the admin default would hold them).
"$goldroot" site set enroll=first-use >/dev/null
"$goldroot" image import "$cache/demo-rootfs" --name bench >/dev/null
"$goldroot" image export bench >/dev/null
"$goldroot" channel set gold bench >/dev/null
"$goldroot" network add 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1 >/dev/null
for i in 1 2 3; do
  "$goldroot" host add "pc$i" --mac "52:54:00:78:00:0$i" --ip "10.77.0.2$i" >/dev/null
done
lab_up "$work/lab"
lab_serve

login_after() {  # NAME...: boots them at once, prints each one's seconds to login
  local name
  for name in "$@"; do lab_boot "$name" "52:54:00:78:00:0${name#pc}"; done
  for name in "$@"; do lab_wait "$name" 'login:' 900 >/dev/null; done
  for name in "$@"; do lab_seconds_to "$name" 'login:'; lab_kill "$name"; done
}
one=$(login_after pc1)
three=$(login_after pc1 pc2 pc3 | sort -n | awk '{printf "%.1f ", $1}')

# The peer: the same tree on a local ext4 disk.
local_disk=$(local_disk_login_seconds "$goldroot" bench "$work")

printf 'one client, PXE from goldroot serve:      %6.1f s\n' "$one"
printf 'three clients at once (each):             %s s\n' "$three"
printf 'local virtual disk, no network (peer):    %6.1f s\n' "$local_disk"
printf 'ratio one PXE client / local disk:        %6.2f\n' "$(echo "$one / $local_disk" | bc -l)"

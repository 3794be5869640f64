#!/usr/bin/env bash
# On-demand boot (fetch=demand, goldroot-blockd) against downloading the
# whole image first (fetch=full) and against the same image on a local
# virtual disk: QEMU clients (software emulation, -accel tcg) from QEMU start
# to the serial login prompt, with the image bytes the server sent each
# client by then (its access log). Then the time until a client with a data
# disk runs entirely from it (the live move), and a large image (the demo
# image plus 2 GiB a boot never reads) on a diskless client with 1.5 GiB of
# RAM, full against on demand. Run as root after scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
goldroot=${GOLDROOT:-$PWD/build/bin/goldroot}
cache=${GOLDROOT_CACHE:-/var/cache/goldroot}
scripts/build-rootfs.sh "$cache/demo-rootfs" linux-image-amd64 systemd systemd-sysv
work=$(mktemp -d)
chmod 0755 "$work"
export GOLDROOT_SITE=$work/site
source scripts/lib/lab.sh
source bench/lib/bench.sh
trap 'lab_down; rm -rf "$work"' EXIT
gr() { "$goldroot" "$@"; }

gr init >/dev/null
# Benchmark clients are trusted on first use (the admin default would hold them).
gr site set enroll=first-use >/dev/null
gr image import "$cache/demo-rootfs" --name bench >/dev/null
gr image export bench >/dev/null
gr channel set gold bench >/dev/null
gr network add 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1 >/dev/null
gr host add full1 --mac 52:54:00:78:00:21 --ip 10.77.0.41 --fetch full >/dev/null
gr host add demand1 --mac 52:54:00:78:00:22 --ip 10.77.0.42 --fetch demand >/dev/null
gr host add disk1 --mac 52:54:00:78:00:23 --ip 10.77.0.43 --fetch demand >/dev/null
# Each client says on its console how many blocks its daemon held at start-up,
# and a disk client when its root became local.
base=$GOLDROOT_SITE/layers/base
mkdir -p "$base/usr/local/sbin" "$base/etc/systemd/system/multi-user.target.wants"
cat >"$base/usr/local/sbin/goldroot-bench-local" <<'EOF'
#!/bin/sh
# Blocks the daemon holds as the system comes up (the RAM cache of a diskless client).
present=$(grep -o '"present": *[0-9]*' /run/goldroot/blockd.json 2>/dev/null | grep -o '[0-9]*$')
echo "BENCH present=${present:-0}" >/dev/ttyS0
for _ in $(seq 1 1800); do
  grep -q '"backing": *"local"' /run/goldroot/blockd.json 2>/dev/null && break
  [ -e /run/goldroot/blockd.json ] || exit 0
  sleep 1
done
echo "BENCH local=$(cut -d' ' -f1 /proc/uptime)" >/dev/ttyS0
EOF
chmod 755 "$base/usr/local/sbin/goldroot-bench-local"
printf '[Unit]\nBefore=serial-getty@ttyS0.service\n[Service]\nType=simple\nExecStart=/usr/local/sbin/goldroot-bench-local\n' \
  >"$base/etc/systemd/system/goldroot-bench-local.service"
ln -sf ../goldroot-bench-local.service "$base/etc/systemd/system/multi-user.target.wants/"
image_size=$(find "$GOLDROOT_SITE/exports" -name '*.erofs' -exec stat -c %s {} + | head -1)

lab_up "$work/lab"
lab_serve
access_log=$GOLDROOT_SITE/logs/access.log

# image_bytes IP: bytes of /images/ the server sent to IP so far.
image_bytes() {
  python3 - "$access_log" "$1" <<'EOF'
import json, sys
total = 0
for line in open(sys.argv[1]):
    entry = json.loads(line)
    if entry.get("client", "").split(":")[0] == sys.argv[2] and entry.get("path", "").startswith("/images/"):
        total += entry.get("bytes", 0)
print(total)
EOF
}
# login NAME MAC IP [DISK]: boots it; sets login_s (seconds to the login
# prompt), kernel_s (seconds to the kernel's first line: firmware, PXE and
# the kernel and initrd downloads) and login_mib (image MiB the server sent
# it by then, counted from before this boot).
login() {
  local before
  before=$(image_bytes "$3")
  lab_boot "$1" "$2" "${4:-}"
  lab_wait "$1" 'Linux version' 600 >/dev/null
  lab_wait "$1" 'login:' 900 >/dev/null
  kernel_s=$(lab_seconds_to "$1" 'Linux version')
  login_s=$(lab_seconds_to "$1" 'login:')
  login_mib=$((($(image_bytes "$3") - before) >> 20))
}
login full1 52:54:00:78:00:21 10.77.0.41
full_s=$login_s full_k=$kernel_s full_mib=$login_mib
lab_kill full1
login demand1 52:54:00:78:00:22 10.77.0.42
demand_s=$login_s demand_k=$kernel_s demand_mib=$login_mib
lab_kill demand1
disk=$(lab_disk disk1 2G)
login disk1 52:54:00:78:00:23 10.77.0.43 "$disk"
disk_s=$login_s disk_k=$kernel_s disk_mib=$login_mib
lab_wait disk1 'BENCH local=' 900 >/dev/null
local_after=$(tr -d '\r' <"$LAB_DIR/disk1.log" | grep -aoE 'BENCH local=[0-9.]+' | tail -1 | cut -d= -f2)
lab_kill disk1
# Its next boot: the same PXE path, the image already whole on its disk.
login disk1 52:54:00:78:00:23 10.77.0.43 "$disk"
cached_s=$login_s cached_k=$kernel_s cached_mib=$login_mib
lab_kill disk1

# The peer: the same tree on a local ext4 disk.
local_disk=$(local_disk_login_seconds "$goldroot" bench "$work")

print_boots() {
  local row='%-46s %8.1f %9.1f %14s\n'
  printf 'demo image: %d MiB\n' $((image_size >> 20))
  printf '%-46s %8s %9s %14s\n' "client (1.5 GiB RAM)" "login s" "kernel s" "image MiB sent"
  printf "$row" "full download before mount (fetch=full)" "$full_s" "$full_k" "$full_mib"
  printf "$row" "on demand, diskless (fetch=demand)" "$demand_s" "$demand_k" "$demand_mib"
  printf "$row" "on demand, data disk, first boot" "$disk_s" "$disk_k" "$disk_mib"
  printf "$row" "same PXE path, image whole on its disk" "$cached_s" "$cached_k" "$cached_mib"
  printf "$row" "local virtual disk, no network (peer)" "$local_disk" 0 "-"
  printf '(kernel s: QEMU start to the kernel'"'"'s first line: firmware, PXE, kernel and initrds)\n'
  printf 'ratio on demand / local disk:                  %6.2f\n' "$(echo "$demand_s / $local_disk" | bc -l)"
  printf 'ratio full download / local disk:              %6.2f\n' "$(echo "$full_s / $local_disk" | bc -l)"
  printf 'ratio on demand / image whole on disk (PXE):   %6.2f\n' "$(echo "$demand_s / $cached_s" | bc -l)"
  printf 'after the kernel starts, on demand / local:    %6.2f\n' \
    "$(echo "($demand_s - $demand_k) / $local_disk" | bc -l)"
  printf 'data-disk client runs from its disk alone at %s s uptime\n' "$local_after"
}
print_boots
# BENCH_LARGE=0 stops here.
[ "${BENCH_LARGE:-1}" = 1 ] || exit 0

# A large image: 2 GiB of incompressible data a boot never reads.
gr image checkout bench "$work/big" >/dev/null 2>&1
mkdir -p "$work/big/opt/data"
for i in $(seq 1 16); do head -c 128M /dev/urandom >"$work/big/opt/data/part$i.bin"; done
gr image import "$work/big" --name big >/dev/null
rm -rf "$work/big"
gr image export big >/dev/null
big_size=$(stat -c %s "$(find "$GOLDROOT_SITE/exports" -name '*.erofs' -size +1G | head -1)")
gr host add bigfull --mac 52:54:00:78:00:24 --ip 10.77.0.44 --fetch full --pin big >/dev/null
gr host add bigdemand --mac 52:54:00:78:00:25 --ip 10.77.0.45 --fetch demand --pin big >/dev/null
sleep 3  # serve picks up the new export and hosts
lab_boot bigfull 52:54:00:78:00:24
if lab_wait bigfull 'login:' 600 >/dev/null; then
  big_full="login after $(lab_seconds_to bigfull 'login:') s"
else
  big_full="no login: $(tr -d '\r' <"$LAB_DIR/bigfull.log" | grep -aE 'goldroot-boot: error|Out of memory' | tail -1 | cut -c1-110 || true)"
fi
lab_kill bigfull
lab_boot bigdemand 52:54:00:78:00:25
lab_wait bigdemand 'login:' 900 >/dev/null
big_demand_s=$(lab_seconds_to bigdemand 'login:')
big_demand_mib=$(($(image_bytes 10.77.0.45) >> 20))
lab_wait bigdemand 'BENCH present=' 60 >/dev/null
big_ram_mib=$(($(tr -d '\r' <"$LAB_DIR/bigdemand.log" | grep -aoE 'BENCH present=[0-9]+' | tail -1 | cut -d= -f2) * 4096 >> 20))
lab_kill bigdemand

printf 'large image (%d MiB), diskless, 1.5 GiB RAM:\n' $((big_size >> 20))
printf '  full download: %s\n' "$big_full"
printf '  on demand:     login after %.1f s, %d MiB sent, %d MiB in its RAM cache\n' \
  "$big_demand_s" "$big_demand_mib" "$big_ram_mib"

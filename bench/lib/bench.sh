# Sourced by the benches, after they set `here` (the checkout) and `cache`.
# Timing helpers that every bench shares, and the v1 -> v2 debootstrap pair
# that the store, change-tracking and capture benches compare on.

# bench_needs_root WHY: the benches drop caches and mount.
bench_needs_root() { [ "$(id -u)" = 0 ] || { echo "bench needs root ($1)" >&2; exit 1; }; }
# cold: the next command starts with an empty page cache.
cold() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# ratio PEER GOLDROOT: how many times faster goldroot was.
ratio() { echo "scale=2; $1 / $2" | bc; }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# bench_trees: builds the pair once (cached under $cache) and sets v1, v2.
#   v1 = bookworm minbase; v2 = v1 + less vim-tiny ca-certificates procps iproute2
bench_trees() {
  v1="$cache/bench-v1"; v2="$cache/bench-v2"
  "$here/scripts/build-rootfs.sh" "$v1"
  "$here/scripts/build-rootfs.sh" "$v2" less vim-tiny ca-certificates procps iproute2
}

# local_disk_login_seconds GOLDROOT IMAGE DIR: the boot benches' peer — the
# image checked out onto a local ext4 virtual disk, its kernel and initrd
# given to QEMU directly (no network); prints the seconds from QEMU start to
# the serial login prompt. Uses DIR for the disk and the console log.
local_disk_login_seconds() {
  local goldroot=$1 image=$2 dir=$3 start qemu
  "$goldroot" image checkout "$image" "$dir/tree" >/dev/null 2>&1
  cp "$(ls "$dir"/tree/boot/vmlinuz-* | head -1)" "$dir/vmlinuz"
  cp "$(ls "$dir"/tree/boot/initrd.img-* | head -1)" "$dir/initrd.img"
  echo "local-disk" >"$dir/tree/etc/hostname"
  mkfs.ext4 -q -d "$dir/tree" -L root "$dir/local.disk" 3G >/dev/null
  rm -rf "$dir/tree"
  : >"$dir/local.log"
  start=$(date +%s.%N)
  qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m "${LAB_MEMORY:-1536}" -display none -no-reboot \
    -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" -append "root=/dev/vda rw console=ttyS0" \
    -drive "file=$dir/local.disk,if=virtio,format=raw" -serial "file:$dir/local.log" >/dev/null 2>&1 &
  qemu=$!
  until grep -aq 'login:' "$dir/local.log"; do sleep 0.5; done
  echo "$(date +%s.%N) - $start" | bc
  kill $qemu
  wait $qemu 2>/dev/null || true
  rm -f "$dir/local.disk"
}

#!/usr/bin/env bash
# goldroot-blockd's network mode in a vm guest (tests/vm/lib.sh), as
# goldroot-boot starts it for fetch=demand: an erofs export and its dm-verity
# tree (`image export`) served by an HTTP server with Range on the host
# (the guest's 10.0.2.2), read on demand through NBD and dm-verity.
#   1. RAM cache: reading one small file fetches a fraction of the image
#      (the status file's fetched_bytes); the mounted tree then lists
#      exactly as the export loop-mounted on the host (tests/vm/listing.sh);
#   2. a byte flipped in a copy the server serves (in kinds/blob's data):
#      reading that file fails with EIO, the status counts verify_failures
#      and its last_error names the block, every other file reads right;
#   3. the server killed (SIGKILL) while a large file is half read, and
#      started again on the same port 2 s later: the read waits, then
#      completes with the right sha256, and last_error clears;
#   4./5. a disk cache (ext4 on a second virtio disk) across a reboot: the
#      first boot reads /etc and kinds/large with --no-fill and shuts the
#      daemon down, the cache partly full; the second boot's daemon fetches
#      only the blocks still missing, its background fill completes, it
#      moves the device onto the local copy (status backing=local) and
#      exits; with the server stopped the whole tree (page cache dropped)
#      still lists equal, and a new daemon finds the cache complete and
#      needs no server.
# The host acts on the guest's console lines ("@@kill-server@@",
# "@@stop-server@@"); the guest then waits until the server refuses.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vm/lib.sh"
require_root
: "${GOLDROOT_BLOCKD:?GOLDROOT_BLOCKD must point at goldroot-blockd}"
command -v mkfs.ext4 >/dev/null || require "mkfs.ext4 (e2fsprogs)"
started=$SECONDS
vm_setup

# The tree: the demo image's /etc and docs, a file to corrupt and a large
# one to read through an outage (random: erofs stores both raw).
tree=$WORK/tree
mkdir -p "$tree/usr/share" "$tree/kinds"
cp -a "$VM_ROOTFS/etc" "$tree/etc"
cp -a "$VM_ROOTFS/usr/share/doc" "$tree/usr/share/doc"
head -c 262144 /dev/urandom >"$tree/kinds/blob"
head -c 6291456 /dev/urandom >"$tree/kinds/large"
head -c 4096 /dev/urandom >"$tree/kinds/small"

vm_export "$tree"
[ "$((data_blocks * 4096))" = "$(stat -c %s "$WORK/image.erofs")" ] || fail "data_blocks is not the image's size"

# What the server serves: the export, its tree, and a copy of the image
# with one byte flipped inside kinds/blob's data.
served=$WORK/served
mkdir "$served"
cp "$WORK/image.erofs" "$served/image.erofs"
cp "$WORK/image.erofs.verity" "$served/image.verity"
cp "$WORK/image.erofs" "$served/bad.erofs"
echo pong >"$served/ping"
python3 - "$served/bad.erofs" "$tree/kinds/blob" <<'PY' || fail "kinds/blob's bytes are not in the image"
import sys
image, blob = sys.argv[1], open(sys.argv[2], 'rb').read()
with open(image, 'r+b') as f:
    data = f.read()
    at = data.find(blob[131072:131072 + 64])
    if at < 0: sys.exit(1)
    f.seek(at + 10)
    f.write(bytes([data[at + 10] ^ 0xff]))
PY
ok "exported $((data_blocks * 4)) KiB of erofs and a $((tree_size / 1024)) KiB dm-verity tree to serve"

# The reference listing, from the export loop-mounted here.
mkdir "$WORK/mnt"
mount -t erofs -o ro,loop "$WORK/image.erofs" "$WORK/mnt"
on_exit "mountpoint -q $WORK/mnt && umount $WORK/mnt"
BUSYBOX=/bin/busybox /bin/busybox sh "$VM_HERE/listing.sh" "$WORK/mnt" >"$WORK/expected"
umount "$WORK/mnt"
[ "$(wc -l <"$WORK/expected")" -gt 500 ] || fail "the reference listing is short"

# The guest's data disk, for the disk cache across its two boots.
truncate -s 96M "$WORK/disk.img"
mkfs.ext4 -q -F -L cache "$WORK/disk.img"

vm_modules nbd dm-verity erofs loop virtio_blk ext4 crc32c_generic
vm_binary "$GOLDROOT_BLOCKD"
vm_add "$WORK/expected" /data/expected
vm_http_serve "$served"
port=$VM_HTTP_PORT
cat >"$WORK/params" <<EOF
ROOT=$root
SALT=$salt
PORT=$port
DATA_BLOCKS=$data_blocks
TREE_SIZE=$tree_size
DEVICE_BYTES=$((data_blocks * 4096 + tree_size))
SMALL_SHA=$(sha256sum "$tree/kinds/small" | cut -c1-64)
LARGE_SHA=$(sha256sum "$tree/kinds/large" | cut -c1-64)
EOF
vm_add "$WORK/params" /data/params

# What both boots share.
cat >"$WORK/net.sh" <<'EOF_NET'
. /vm/check.sh
. /data/params
# As in the initramfs: through the loader.
blockd="/lib64/ld-linux-x86-64.so.2 /bin/goldroot-blockd"
server=http://10.0.2.2:$PORT
now() { cut -d' ' -f1 /proc/uptime; }
# start NAME IMAGE-URL [FLAG…]: goldroot-blockd as goldroot-boot starts it;
# $pid and $dev once its ready line came. Status /run/NAME.json, stderr
# /run/NAME.err.
start() {
  local name=$1 url=$2
  shift 2
  rm -f "/run/$name.ready"
  $blockd --image-url "$url" --tree-url "$server/image.verity" --root-hash "$ROOT" --salt "$SALT" \
    --data-blocks "$DATA_BLOCKS" --tree-size "$TREE_SIZE" --status "/run/$name.json" --name "$name" \
    "$@" --ready-fd 3 3>"/run/$name.ready" 2>"/run/$name.err" </dev/null &
  pid=$!
  for _ in $(seq 1 900); do
    [ -s "/run/$name.ready" ] && break
    kill -0 $pid 2>/dev/null || break
    usleep 100000
  done
  dev=$(head -1 "/run/$name.ready")
  case "$dev" in
    /dev/*) ;;
    *) echo "goldroot-blockd $name gave no device ($dev):" >&2; cat "/run/$name.err" >&2; return 1 ;;
  esac
}
# stop MOUNT: unmounts and SIGTERMs the daemon, which removes its device.
stop() {
  umount "$1"
  kill -TERM $pid
  wait $pid
}
# field FILE NAME: a number or word of a status file.
field() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" "$1"; }
# fresh FILE: the daemon's next write of its status file (every 2 s).
fresh() {
  rm -f "$1"
  for _ in $(seq 1 300); do
    [ -s "$1" ] && return 0
    usleep 100000
  done
  echo "no new status in $1" >&2
  return 1
}
# down: once the host stopped the server (the guest sees it refuse).
down() {
  for _ in $(seq 1 600); do
    wget -q -T 2 -O /dev/null "$server/ping" 2>/dev/null || return 0
    usleep 200000
  done
  echo "the server is still up" >&2
  return 1
}
mkdir -p /mnt/root /disk
EOF_NET
vm_add "$WORK/net.sh" /data/net.sh

cat >"$WORK/boot1.sh" <<'EOF_BOOT1'
. /data/net.sh
echo "VM-TIME script $(now)"

# 1. RAM cache.
start ram "$server/image.erofs"
mount -t erofs -o ro "$dev" /mnt/root
check "RAM cache: one small file reads right" [ "$(sha256sum /mnt/root/kinds/small | cut -c1-64)" = "$SMALL_SHA" ]
fresh /run/ram.json
fetched=$(field /run/ram.json fetched_bytes)
check "RAM cache: that read fetched $fetched bytes (tree included) of a $DEVICE_BYTES-byte image" \
  [ "$(field /run/ram.json cache)" = ram -a "$fetched" -gt 0 -a "$fetched" -lt $((DEVICE_BYTES / 4)) ]
sh /vm/listing.sh /mnt/root >/tmp/listing
fresh /run/ram.json
echo "VM-TIME listed $(now)"
check "RAM cache: the tree lists as on the host ($(wc -l </tmp/listing) paths; $(field /run/ram.json fetched_bytes) bytes fetched)" \
  diff /data/expected /tmp/listing
stop /mnt/root

# 2. A flipped byte in the server's copy.
start bad "$server/bad.erofs"
mount -t erofs -o ro "$dev" /mnt/root
check "a flipped byte on the server: reading kinds/blob fails with EIO" \
  sh -c '! cat /mnt/root/kinds/blob >/dev/null 2>/tmp/error && grep -q "Input/output error" /tmp/error'
fresh /run/bad.json
failures=$(field /run/bad.json verify_failures)
check "the status counts $failures verify_failures" [ "$failures" -ge 1 ]
check "and its last_error names the block" \
  grep -q '"last_error":"block [0-9]* (bytes .*does not match its verity hash' /run/bad.json
sh /vm/listing.sh /mnt/root 2>/dev/null | grep -v '^\./kinds/blob|' >/tmp/bad-listing || true
grep -v '^\./kinds/blob|' /data/expected >/tmp/expected-but-blob
check "every other file reads as on the host" diff /tmp/expected-but-blob /tmp/bad-listing
stop /mnt/root
echo "VM-TIME flipped $(now)"

# 3. The server killed while a large file is half read.
start outage "$server/image.erofs"
mount -t erofs -o ro "$dev" /mnt/root
{
  dd bs=65536 count=16 2>/dev/null
  echo "@@kill-server@@" >&2
  down </dev/null
  echo "VM-TIME down $(now)" >&2
  cat
} </mnt/root/kinds/large | sha256sum >/tmp/large.sha
echo "VM-TIME read $(now)"
check "the server killed mid-read and back 2 s later: the read completes with the right sha256" \
  [ "$(cut -c1-64 /tmp/large.sha)" = "$LARGE_SHA" ]
check "the daemon waited for it ($(grep -c retrying /run/outage.err) 'retrying' lines, then 'answers again')" \
  sh -c 'grep -q "retrying until it answers" /run/outage.err && grep -q "the server answers again" /run/outage.err'
fresh /run/outage.json
check "last_error is empty again" grep -q '"last_error":""' /run/outage.json
stop /mnt/root

# 5, first boot: a disk cache left half full.
mount -t ext4 /dev/vda /disk
start disk "$server/image.erofs" --cache-dir /disk/cache --no-fill
mount -t erofs -o ro "$dev" /mnt/root
find /mnt/root/etc -type f -exec cat {} + >/dev/null
cat /mnt/root/kinds/large >/dev/null
stop /mnt/root
cp /run/disk.json /disk/boot1.json
present=$(field /run/disk.json present)
blocks=$(field /run/disk.json blocks)
check "disk cache, boot 1: /etc and kinds/large read, the daemon shut down with $present of $blocks blocks on disk ($(field /run/disk.json fetched_bytes) bytes fetched)" \
  [ "$(field /run/disk.json cache)" = disk -a "$present" -gt 0 -a "$present" -lt $((blocks / 2)) ]
umount /disk
EOF_BOOT1

cat >"$WORK/boot2.sh" <<'EOF_BOOT2'
. /data/net.sh
echo "VM-TIME script $(now)"
mount -t ext4 /dev/vda /disk
present1=$(field /disk/boot1.json present)
missing=$((DEVICE_BYTES - present1 * 4096))
start disk "$server/image.erofs" --cache-dir /disk/cache
mount -t erofs -o ro "$dev" /mnt/root
sh /vm/listing.sh /mnt/root >/tmp/listing
echo "VM-TIME listed $(now)"
check "disk cache, boot 2: the tree lists as on the host" diff /data/expected /tmp/listing
for _ in $(seq 1 1200); do
  kill -0 $pid 2>/dev/null || break
  usleep 100000
done
echo "VM-TIME filled $(now)"
wait $pid && status=0 || status=$?
check "the background fill completes, the device moves onto the local copy and the daemon exits 0" \
  [ $status = 0 -a "$(field /run/disk.json backing)" = local ]
fetched=$(field /run/disk.json fetched_bytes)
check "boot 2 fetched only what was missing: $fetched bytes of the $missing missing ($(field /run/disk.json reused_bytes) bytes reused)" \
  [ "$fetched" -gt 0 -a "$fetched" -le "$missing" -a "$(field /run/disk.json present)" = "$(field /run/disk.json blocks)" ]
under=$(ls /sys/block/${dev#/dev/}/slaves)
check "$dev now reads $under and NBD is detached" sh -c "echo $under | grep -q '^loop' && [ ! -e /sys/block/nbd0/pid ]"
echo "@@stop-server@@"
down
echo 3 >/proc/sys/vm/drop_caches
sh /vm/listing.sh /mnt/root >/tmp/listing-offline
check "with the server stopped, the whole tree (page cache dropped) lists as on the host" \
  diff /data/expected /tmp/listing-offline
umount /mnt/root
start again "$server/image.erofs" --cache-dir /disk/cache
wait $pid && status=0 || status=$?
mount -t erofs -o ro "$dev" /mnt/root
check "a new daemon finds the cache complete: $dev over $(ls /sys/block/${dev#/dev/}/slaves), no server, exit $status" \
  [ $status = 0 -a "$(sha256sum /mnt/root/kinds/large | cut -c1-64)" = "$LARGE_SHA" ]
umount /mnt/root
EOF_BOOT2

# on_console LOG MARKER COMMAND…: runs COMMAND once the guest printed
# MARKER on its console.
on_console() {
  local log=$1 marker=$2
  shift 2
  until tr -d '\r' 2>/dev/null <"$log" | grep -aqF "$marker"; do sleep 0.1; done
  "$@"
}
outage() {
  vm_http_stop
  echo "killed $(date +%s.%N)" >"$WORK/outage"
  sleep 2
  vm_http_serve "$served" "$port"
  echo "restarted $(date +%s.%N)" >>"$WORK/outage"
}

on_console "$VM_DIR/net1.log" "@@kill-server@@" outage &
watcher=$!
on_exit "kill $watcher 2>/dev/null"
VM_DISK=$WORK/disk.img vm_run net1 "$WORK/boot1.sh" 600
seconds1=$VM_SECONDS
[ -s "$WORK/outage" ] || fail "the host never killed the server"
killed=$(sed -n 's/^killed //p' "$WORK/outage")
restarted=$(sed -n 's/^restarted //p' "$WORK/outage")
printf 'host: the server was down %.1f s\n' "$(echo "$restarted - $killed" | bc)"
grep -a '^VM-TIME\|^VM-START' "$VM_DIR/net1.log" | tr -d '\r' | tr '\n' ' '; echo

on_console "$VM_DIR/net2.log" "@@stop-server@@" vm_http_stop &
watcher=$!
on_exit "kill $watcher 2>/dev/null"
VM_DISK=$WORK/disk.img vm_run net2 "$WORK/boot2.sh" 600
grep -a '^VM-TIME\|^VM-START' "$VM_DIR/net2.log" | tr -d '\r' | tr '\n' ' '; echo
printf 'vm: the two boots ran %.0f s and %.0f s; %d s in all\n' "$seconds1" "$VM_SECONDS" $((SECONDS - started))
finish

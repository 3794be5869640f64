#!/usr/bin/env bash
# goldroot-blockd in a vm guest (tests/vm/lib.sh) on the demo image's Debian
# kernel, which has the NBD and device-mapper modules this machine lacks. An
# erofs export of a small tree (the demo image's /etc and /usr/share/doc and
# files of every kind) and the dm-verity tree `image export` writes beside
# it (checked by veritysetup on the host) are served from files through
# goldroot-blockd, NBD and dm-verity:
#   1. the mounted tree lists exactly as the export loop-mounted on the host
#      (path, type and mode, owner, size, mtime, device, links, sha256,
#      symlink target — the same busybox on both sides);
#   2. the daemon's /proc/PID/cmdline starts with '@' (it runs under the
#      loader, as in the initramfs) and its memory is locked;
#   3. a byte flipped in a copy of the image: reading that file fails with
#      EIO and dm-verity says so on the console, every other file reads as
#      on the host; SIGTERM then removes the unused device;
#   4. the live move: SIGUSR1 reloads the table onto a loop device of the
#      local copy, NBD is detached and the daemon exits; with the page cache
#      dropped the tree still lists the same;
#   5. (the harness) the guest fetches a file from an HTTP server on the
#      host's loopback at 10.0.2.2.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vm/lib.sh"
require_root
: "${GOLDROOT_BLOCKD:?GOLDROOT_BLOCKD must point at goldroot-blockd}"
command -v veritysetup >/dev/null || require "veritysetup (cryptsetup-bin)"
started=$SECONDS
vm_setup

# The tree: the demo image's /etc and docs, and one of every kind of file.
tree=$WORK/tree
mkdir -p "$tree/usr/share" "$tree/kinds/deep/er/still"
cp -a "$VM_ROOTFS/etc" "$tree/etc"
cp -a "$VM_ROOTFS/usr/share/doc" "$tree/usr/share/doc"
head -c 262144 /dev/urandom >"$tree/kinds/blob"  # incompressible: stored raw
for size in 0 1 4095 4096 4097 65536 1000000; do
  head -c $size /dev/urandom | base64 -w 76 >"$tree/kinds/size-$size"
  truncate -s $size "$tree/kinds/size-$size"
done
ln -s ../etc/hostname "$tree/kinds/symlink"
ln -s /nowhere/at/all "$tree/kinds/dangling"
ln "$tree/kinds/size-4097" "$tree/kinds/hardlink"
mkfifo "$tree/kinds/fifo"
mknod "$tree/kinds/null" c 1 3
mknod "$tree/kinds/loop" b 7 0
echo setuid >"$tree/kinds/setuid" && chmod 4755 "$tree/kinds/setuid"
echo owned >"$tree/kinds/owned" && chown 1000:1001 "$tree/kinds/owned" && chmod 640 "$tree/kinds/owned"
echo deep >"$tree/kinds/deep/er/still/file"
mkdir "$tree/kinds/empty"

# The export writes its dm-verity tree beside it (goldroot's own
# verity/hash_tree); veritysetup checks it here, the guest's kernel there.
vm_export "$tree"
veritysetup verify --no-superblock --salt="$salt" "$WORK/image.erofs" "$WORK/image.erofs.verity" "$root" ||
  fail "veritysetup does not accept the export's tree"
mv "$WORK/image.erofs.verity" "$WORK/image.verity"
ok "exported $(du -k "$WORK/image.erofs" | cut -f1) KiB of erofs and its dm-verity tree, which veritysetup verifies"

# The reference listing, from the export loop-mounted here.
mkdir "$WORK/mnt"
mount -t erofs -o ro,loop "$WORK/image.erofs" "$WORK/mnt"
on_exit "mountpoint -q $WORK/mnt && umount $WORK/mnt"
BUSYBOX=/bin/busybox /bin/busybox sh "$VM_HERE/listing.sh" "$WORK/mnt" >"$WORK/expected"
umount "$WORK/mnt"
[ "$(wc -l <"$WORK/expected")" -gt 500 ] || fail "the reference listing is short"

# A copy of the image with one byte flipped inside kinds/blob's data.
cp "$WORK/image.erofs" "$WORK/bad.erofs"
python3 - "$WORK/bad.erofs" "$tree/kinds/blob" <<'PY' || fail "kinds/blob's bytes are not in the image"
import sys
image, blob = sys.argv[1], open(sys.argv[2], 'rb').read()
with open(image, 'r+b') as f:
    data = f.read()
    at = data.find(blob[131072:131072 + 64])
    if at < 0: sys.exit(1)
    f.seek(at + 10)
    f.write(bytes([data[at + 10] ^ 0xff]))
PY

vm_modules nbd dm-verity erofs loop
vm_binary "$GOLDROOT_BLOCKD"
for file in image.erofs image.verity bad.erofs expected; do vm_add "$WORK/$file" "/data/$file"; done
vm_http_serve "$WORK"
printf 'ROOT=%s\nSALT=%s\nPORT=%s\n' "$root" "$salt" "$VM_HTTP_PORT" >"$WORK/params"
vm_add "$WORK/params" /data/params

cat >"$WORK/guest.sh" <<'EOF_GUEST'
. /vm/check.sh
. /data/params
# As in the initramfs: through the loader, so argv[0] is the loader's path.
blockd="/lib64/ld-linux-x86-64.so.2 /bin/goldroot-blockd"
# wait_line FILE PID: the daemon's one line on stdout.
wait_line() {
  for _ in $(seq 1 600); do
    [ -s "$1" ] && { head -1 "$1"; return 0; }
    kill -0 "$2" 2>/dev/null || break
    usleep 100000
  done
  echo "no device from goldroot-blockd:" >&2; cat "${1%.*}.err" >&2; return 1
}
slaves() { ls "/sys/block/${1#/dev/}/slaves"; }

cat /data/image.erofs /data/image.verity >/data/local-copy
$blockd --image /data/image.erofs --tree /data/image.verity --root-hash "$ROOT" --salt "$SALT" \
  --local-copy /data/local-copy --ready-fd 3 >/run/blockd.out 2>/run/blockd.err 3>/run/blockd.ready &
pid=$!
dev=$(wait_line /run/blockd.ready $pid)
check "the ready line on --ready-fd names the device, and stdout stays quiet" [ ! -s /run/blockd.out ]
echo "VM-TIME device $(cut -d' ' -f1 /proc/uptime)"
check "goldroot-blockd serves $dev, dm-verity over $(slaves $dev)" [ "$(slaves $dev)" = nbd0 ]
check "its /proc/PID/cmdline starts with '@' ($(tr '\0' ' ' </proc/$pid/cmdline | cut -c1-40)…)" \
  [ "$(head -c 1 /proc/$pid/cmdline)" = @ ]
check "its memory is locked ($(grep VmLck /proc/$pid/status | tr -s ' \t' ' '))" \
  [ "$(awk '/VmLck/ {print $2}' /proc/$pid/status)" -gt 1000 ]
check "/dev/nbd0 refuses writes" sh -c '! dd if=/dev/zero of=/dev/nbd0 bs=4096 count=1 2>/dev/null'
mkdir -p /mnt/root /mnt/bad
mount -t erofs -o ro "$dev" /mnt/root
sh /vm/listing.sh /mnt/root >/tmp/listing
echo "VM-TIME listed $(cut -d' ' -f1 /proc/uptime)"
check "the tree through NBD and dm-verity lists as on the host ($(wc -l </tmp/listing) paths)" \
  diff /data/expected /tmp/listing

$blockd --image /data/bad.erofs --tree /data/image.verity --root-hash "$ROOT" --salt "$SALT" \
  --name goldroot-bad >/run/bad.out 2>/run/bad.err &
bad_pid=$!
bad=$(wait_line /run/bad.out $bad_pid)
mount -t erofs -o ro "$bad" /mnt/bad
check "a flipped byte: reading kinds/blob fails with EIO" \
  sh -c '! cat /mnt/bad/kinds/blob >/dev/null 2>/tmp/error && grep -q "Input/output error" /tmp/error'
check "dm-verity names the corrupt block on the console" sh -c 'dmesg | grep -q "verity.*is corrupted"'
sh /vm/listing.sh /mnt/bad 2>/dev/null | grep -v '^\./kinds/blob|' >/tmp/bad-listing || true
grep -v '^\./kinds/blob|' /data/expected >/tmp/expected-but-blob
check "every other file reads as on the host" diff /tmp/expected-but-blob /tmp/bad-listing
umount /mnt/bad
kill -TERM $bad_pid
wait $bad_pid && status=0 || status=$?
check "SIGTERM removes the unused device and the daemon exits 0" \
  [ $status = 0 -a ! -e /sys/block/${bad#/dev/} -a ! -e /sys/block/nbd1/pid ]

kill -USR1 $pid
wait $pid && status=0 || status=$?
cat /run/blockd.err
echo "VM-TIME moved $(cut -d' ' -f1 /proc/uptime)"
check "SIGUSR1: the live move, then the daemon exits 0" [ $status = 0 ]
under=$(slaves $dev)
check "$dev now reads $under and NBD is detached" \
  sh -c "echo $under | grep -q '^loop' && [ ! -e /sys/block/nbd0/pid ]"
echo 3 >/proc/sys/vm/drop_caches
sh /vm/listing.sh /mnt/root >/tmp/listing-after
check "after the move the tree (page cache dropped) still lists the same" diff /data/expected /tmp/listing-after
umount /mnt/root

wget -q -O /tmp/fetched "http://10.0.2.2:$PORT/image.verity"
check "the guest reaches the host's loopback at 10.0.2.2" cmp /tmp/fetched /data/image.verity
EOF_GUEST
vm_run blockd "$WORK/guest.sh" 600
echo "vm: the guest ran in ${VM_SECONDS}s; $((SECONDS - started)) s in all"
grep -a '^VM-TIME\|^VM-START' "$VM_DIR/blockd.log" | tr -d '\r' | tr '\n' ' '; echo
finish

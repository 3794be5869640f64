#!/usr/bin/env bash
# Seeding through the daemon, NBD and dm-verity in a vm guest
# (tests/vm/lib.sh): the guest's data disk holds the complete cache of v1 (an
# erofs export, prefetched on the host with `goldroot-blockd --prefetch` and
# put on the ext4 with mkfs.ext4 -d); goldroot-blockd then serves v2 (v1
# with a file changed, one added, one removed) as goldroot-boot starts it:
#   1. the mounted v2 lists exactly as the v2 export loop-mounted on the
#      host;
#   2. the background fill completes and the device moves onto the local
#      copy; the daemon loaded v2's tree by descent, copying from v1's tree
#      what it holds, made the blocks v1 lacks (computed on the host), data
#      and hash blocks, from the update patch the export wrote beside v2
#      (served as v2.erofs.patch-<v1 root>), fetched nothing but the patch,
#      and copied the rest from v1's cache (seeded_bytes in its status);
#   3. once v2 is complete the daemon removed v1's cache.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vm/lib.sh"
require_root
: "${GOLDROOT_BLOCKD:?GOLDROOT_BLOCKD must point at goldroot-blockd}"
command -v mkfs.ext4 >/dev/null || require "mkfs.ext4 (e2fsprogs)"
started=$SECONDS
vm_setup

tree=$WORK/tree
mkdir -p "$tree/usr/share" "$tree/kinds"
cp -a "$VM_ROOTFS/etc" "$tree/etc"
cp -a "$VM_ROOTFS/usr/share/doc" "$tree/usr/share/doc"
head -c 3145728 /dev/urandom >"$tree/kinds/large"
head -c 200000 /dev/urandom >"$tree/kinds/changed"
head -c 100000 /dev/urandom >"$tree/kinds/removed"
vm_export "$tree"
mv "$WORK/image.erofs" "$WORK/v1.erofs"
mv "$WORK/image.erofs.verity" "$WORK/v1.verity"
read -r root1 salt1 blocks1 tree1 <<<"$root $salt $data_blocks $tree_size"
head -c 200000 /dev/urandom >"$tree/kinds/changed"
head -c 150000 /dev/urandom >"$tree/kinds/added"
rm "$tree/kinds/removed"
gr image import "$tree" --name vmtree -m v2 >/dev/null
gr image export vmtree --output "$WORK/v2.erofs" --json >"$WORK/export.json"
read -r root salt data_blocks tree_size < <(python3 -c '
import json, sys
v = json.load(sys.stdin)["verity"]
print(v["root_hash"], v["salt"], v["data_blocks"], v["tree_size"])' <"$WORK/export.json")
[ "$salt" = "$salt1" ] || fail "v1 and v2 have different salts"

served=$WORK/served
mkdir "$served"
cp "$WORK/v1.erofs" "$served/v1.erofs"
cp "$WORK/v1.verity" "$served/v1.verity"
cp "$WORK/v2.erofs" "$served/v2.erofs"
cp "$WORK/v2.erofs.verity" "$served/v2.verity"
cp "$WORK/v2.erofs.patch-$root1" "$served/v2.erofs.patch-$root1" || fail "the v2 export wrote no patch from v1"
patch=$(stat -c %s "$served/v2.erofs.patch-$root1")
vm_http_serve "$served"
port=$VM_HTTP_PORT

# v1's complete cache, on the data disk.
mkdir -p "$WORK/disk/cache"
"$GOLDROOT_BLOCKD" --prefetch --cache-dir "$WORK/disk/cache" \
  --image-url "http://127.0.0.1:$port/v1.erofs" --tree-url "http://127.0.0.1:$port/v1.verity" \
  --root-hash "$root1" --salt "$salt1" --data-blocks "$blocks1" --tree-size "$tree1" \
  2>"$WORK/prefetch.log" || fail "prefetch of v1: $(cat "$WORK/prefetch.log")"
truncate -s 96M "$WORK/disk.img"
mkfs.ext4 -q -F -L cache -d "$WORK/disk" "$WORK/disk.img"

mkdir "$WORK/mnt"
mount -t erofs -o ro,loop "$WORK/v2.erofs" "$WORK/mnt"
on_exit "mountpoint -q $WORK/mnt && umount $WORK/mnt"
BUSYBOX=/bin/busybox /bin/busybox sh "$VM_HERE/listing.sh" "$WORK/mnt" >"$WORK/expected"
umount "$WORK/mnt"
missing=$(python3 - "$WORK/v1.erofs" "$WORK/v2.erofs" <<'PY'
import sys
blocks = lambda p: [b[i:i + 4096] for b in [open(p, "rb").read()] for i in range(0, len(b), 4096)]
old = set(blocks(sys.argv[1])) | {bytes(4096)}  # zeros the daemon makes itself
print(sum(4096 for b in blocks(sys.argv[2]) if b not in old))
PY
)
ok "v1 ($((blocks1 * 4)) KiB) prefetched onto the guest's disk; v2 shares all but $((missing / 1024)) KiB of its $((data_blocks * 4)) KiB"

vm_modules nbd dm-verity erofs loop virtio_blk ext4 crc32c_generic
vm_binary "$GOLDROOT_BLOCKD"
vm_add "$WORK/expected" /data/expected
cat >"$WORK/params" <<EOF
ROOT=$root
ROOT1=$root1
SALT=$salt
PORT=$port
DATA_BLOCKS=$data_blocks
TREE_SIZE=$tree_size
MISSING=$missing
PATCH=$patch
EXPECT_SEEDED=$((data_blocks * 4096 - missing))
EOF
vm_add "$WORK/params" /data/params

cat >"$WORK/seed.sh" <<'EOF_SEED'
. /vm/check.sh
. /data/params
blockd="/lib64/ld-linux-x86-64.so.2 /bin/goldroot-blockd"
server=http://10.0.2.2:$PORT
field() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" "$1"; }
mkdir -p /disk /mnt/root
mount -t ext4 /dev/vda /disk
check "v1's cache is on the disk" [ -f /disk/cache/$ROOT1.image -a -f /disk/cache/$ROOT1.map ]
$blockd --image-url "$server/v2.erofs" --tree-url "$server/v2.verity" --root-hash "$ROOT" --salt "$SALT" \
  --data-blocks "$DATA_BLOCKS" --tree-size "$TREE_SIZE" --status /run/seed.json --name seed \
  --cache-dir /disk/cache --ready-fd 3 3>/run/seed.ready 2>/run/seed.err </dev/null &
pid=$!
for _ in $(seq 1 900); do
  [ -s /run/seed.ready ] && break
  kill -0 $pid 2>/dev/null || break
  usleep 100000
done
dev=$(head -1 /run/seed.ready)
case "$dev" in /dev/*) ;; *) cat /run/seed.err; exit 1 ;; esac
mount -t erofs -o ro "$dev" /mnt/root
sh /vm/listing.sh /mnt/root >/tmp/listing
check "v2 through the seeded daemon, NBD and dm-verity lists as on the host" diff /data/expected /tmp/listing
for _ in $(seq 1 1200); do
  kill -0 $pid 2>/dev/null || break
  usleep 100000
done
wait $pid && status=0 || status=$?
check "the fill completes, the device moves onto the local copy, the daemon exits 0" \
  [ $status = 0 -a "$(field /run/seed.json backing)" = local ]
fetched=$(field /run/seed.json fetched_bytes)
seeded=$(field /run/seed.json seeded_bytes)
tree_fetched=$(field /run/seed.json tree_fetched_bytes)
tree_seeded=$(field /run/seed.json tree_seeded_bytes)
patched=$(field /run/seed.json patched_bytes)
check "of v2's $TREE_SIZE-byte tree it copied $tree_seeded from v1's, fetched $tree_fetched, and made the rest from the patch" \
  [ "$tree_fetched" = 0 -a "$tree_seeded" -lt "$TREE_SIZE" ]
check "it fetched $fetched bytes, the $PATCH-byte patch, which made $patched bytes of blocks (expected $((MISSING + TREE_SIZE - tree_seeded)): the blocks v1 lacks and the rest of the tree), and copied $seeded from v1 (expected $EXPECT_SEEDED)" \
  [ "$fetched" = "$PATCH" -a "$patched" = $((MISSING + TREE_SIZE - tree_seeded)) -a "$seeded" = "$EXPECT_SEEDED" ]
check "v1's cache is gone once v2 is complete" [ ! -e /disk/cache/$ROOT1.image -a ! -e /disk/cache/$ROOT1.map ]
cat /run/seed.err
echo 3 >/proc/sys/vm/drop_caches
sh /vm/listing.sh /mnt/root >/tmp/listing-local
check "from the local copy, the tree still lists as on the host" diff /data/expected /tmp/listing-local
umount /mnt/root
EOF_SEED

VM_DISK=$WORK/disk.img vm_run seed "$WORK/seed.sh" 600
printf 'vm: %.0f s in the guest; %d s in all\n' "$VM_SECONDS" $((SECONDS - started))
finish

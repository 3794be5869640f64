#!/usr/bin/env bash
# Export benchmark: `goldroot image export` (erofs, written straight from the
# store by goldroot's own writer, counted from start to finish) against the
# peers on the plain directory — mkfs.erofs -zlz4hc (Debian's erofs-utils)
# and mksquashfs -comp zstd — on the v1 debootstrap tree, cold cache before
# every timed step. The import into a fresh site is not timed. Also times
# goldroot's mkfs.erofs path (checkout to tmpfs + mkfs.erofs), and the
# image's dm-verity tree alone (what re-exporting an export recorded before
# trees costs: the image is read back and hashed, cold), then mounts
# goldroot's image and checks it against the tree. On the bench pair, also
# the next version (v2) both ways, against mkfs.erofs on v2: a fresh layout,
# and with --base (v1's export's layout kept, what an update does), without
# and with the update patch from v1 (zstd -19 of what v1 lacks). Needs root.
# GOLDROOT_BENCH_TREE: another root tree to export (e.g. the demo image's;
# no next version then).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
goldroot=${GOLDROOT:-$here/build/bin/goldroot}
cache=${GOLDROOT_BENCH_CACHE:-/var/cache/goldroot}
work=${GOLDROOT_BENCH_WORK:-$here/bench/work-export}
source "$here/bench/lib/bench.sh"
bench_needs_root "drop_caches, mount"
v2=
if [ -n "${GOLDROOT_BENCH_TREE:-}" ]; then tree=$GOLDROOT_BENCH_TREE; else bench_trees; tree=$v1; fi

rm -rf "$work"; mkdir -p "$work/mnt"
trap 'mountpoint -q "$work/mnt" && umount "$work/mnt"; [ -n "${KEEP_BENCH_WORK:-}" ] || rm -rf "$work"' EXIT
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); echo "$end - $start" | bc; }
size() { stat -c %s "$1"; }
entries=$(find "$tree" | wc -l); bytes=$(du -sb "$tree" | cut -f1)

cold; t_mkfs=$(seconds mkfs.erofs -zlz4hc --preserve-mtime --quiet "$work/peer.erofs" "$tree")
cold; t_squash=$(seconds mksquashfs "$tree" "$work/peer.squashfs" -comp zstd -noappend -no-progress \
  -quiet -xattrs -processors "$(nproc)")

export GOLDROOT_SITE="$work/site"
"$goldroot" init >/dev/null
"$goldroot" image import "$tree" --name b >/dev/null
cold; t_native=$(seconds "$goldroot" image export b)
native=$(find "$work/site" -name '*.erofs' | head -n1)
# The same export recorded without its tree: exporting again builds the tree only.
python3 -c 'import json,sys; r = json.load(open(sys.argv[1])); del r["verity"]; json.dump(r, open(sys.argv[1], "w"))' "$native.json"
rm "$native.verity"
cold; t_tree=$(seconds "$goldroot" image export b)
tree_bytes=$(size "$native.verity")
veritysetup verify --no-superblock --salt="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verity"]["salt"])' "$native.json")" \
  "$native" "$native.verity" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verity"]["root_hash"])' "$native.json")" \
  || { echo "veritysetup rejects goldroot's verity tree!" >&2; exit 1; }
# Warm, as inside an export, which hashes the image it has just written.
python3 -c 'import json,sys; r = json.load(open(sys.argv[1])); del r["verity"]; json.dump(r, open(sys.argv[1], "w"))' "$native.json"
rm "$native.verity"
cat "$native" >/dev/null; t_tree_warm=$(seconds "$goldroot" image export b)
mv "$native" "$work/native.erofs"; rm -f "$native.json" "$native.verity"
cold; t_viamkfs=$(seconds "$goldroot" image export b --erofs-builder mkfs)
viamkfs=$(find "$work/site" -name '*.erofs' | head -n1)

# The next version: fresh, then with v1's layout (the export of b, native
# again, is the base), each timed cold, against mkfs.erofs on v2.
if [ -n "$v2" ]; then
  rm -f "$viamkfs" "$viamkfs".*
  "$goldroot" image export b >/dev/null
  "$goldroot" image import "$v2" --name b2 >/dev/null
  cold; t_mkfs_v2=$(seconds mkfs.erofs -zlz4hc --preserve-mtime --quiet "$work/peer-v2.erofs" "$v2")
  # take NAME: moves the site's export of b2 to $work/NAME.erofs.
  take() {
    local path; path=$("$goldroot" image export b2 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["path"])')
    mv "$path" "$work/$1.erofs"; rm -f "$path".*
  }
  cold; t_v2_fresh=$(seconds "$goldroot" image export b2 --fresh-layout); take v2-fresh
  cold; t_v2_layout=$(seconds "$goldroot" image export b2 --base b --no-patch); take v2-layout
  cold; t_v2_base=$(seconds "$goldroot" image export b2 --base b); take v2-base
  for image in "$work/v2-fresh.erofs" "$work/v2-base.erofs"; do
    fsck.erofs "$image" >/dev/null || { echo "fsck.erofs rejects $image!" >&2; exit 1; }
  done
fi

fsck.erofs "$work/native.erofs" >/dev/null || { echo "fsck.erofs rejects goldroot's image!" >&2; exit 1; }
mount -t erofs -o loop,ro "$work/native.erofs" "$work/mnt"
[ -z "$(rsync -aHAXnci --numeric-ids "$tree/" "$work/mnt/")" ] || { echo "goldroot's image differs from the tree!" >&2; exit 1; }
umount "$work/mnt"

printf '\nexport benchmark (%s entries, %s MB, cold cache)\n' "$entries" "$((bytes / 1000000))"
printf '%-46s %8s %10s %14s\n' step seconds MiB "vs mkfs.erofs"
row() { printf '%-46s %7.2fs %10.1f %13.2fx\n' "$1" "$2" "$(echo "scale=1; $3 / 1048576" | bc)" "$(ratio "$t_mkfs" "$2")"; }
row "mkfs.erofs -zlz4hc (plain dir)" "$t_mkfs" "$(size "$work/peer.erofs")"
row "mksquashfs -comp zstd (plain dir)" "$t_squash" "$(size "$work/peer.squashfs")"
row "goldroot image export (native erofs writer)" "$t_native" "$(size "$work/native.erofs")"
row "  its dm-verity tree alone, cold" "$t_tree" "$tree_bytes"
row "  its dm-verity tree alone, image in page cache" "$t_tree_warm" "$tree_bytes"
row "  the export without its tree (minus warm tree)" "$(echo "$t_native - $t_tree_warm" | bc)" "$(size "$work/native.erofs")"
row "goldroot image export --erofs-builder mkfs" "$t_viamkfs" "$(size "$viamkfs")"
if [ -n "$v2" ]; then
  t_mkfs=$t_mkfs_v2  # the ratios below are against mkfs.erofs on v2
  printf 'the next version, v2 (five packages added):\n'
  row "mkfs.erofs -zlz4hc (plain dir), v2" "$t_mkfs_v2" "$(size "$work/peer-v2.erofs")"
  row "goldroot image export v2, fresh layout" "$t_v2_fresh" "$(size "$work/v2-fresh.erofs")"
  row "goldroot image export v2 --base v1 --no-patch" "$t_v2_layout" "$(size "$work/v2-layout.erofs")"
  row "goldroot image export v2 --base v1 (+ patch)" "$t_v2_base" "$(size "$work/v2-base.erofs")"
fi
echo "(speed-up over mkfs.erofs: above 1 is faster; goldroot's image passed fsck.erofs, mounted and matched the tree; its verity tree passed veritysetup verify)"

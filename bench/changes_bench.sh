#!/usr/bin/env bash
# Change tracking benchmark on the v1 -> v2 debootstrap pair of the store
# benchmark: the lower is a checkout of v1, the upper is what applying v2
# through an overlay mount leaves (rsync -aHAX --delete v2/ merged/).
#   changes: goldroot changes (store lower and directory lower) against
#            rsync -anc --delete -i merged/ lower/ and diff -rq, all cold
#   capture: goldroot capture against a fresh `image import` of v2, cold
# Then checks that the capture and the import of v2 are the same tree.
# Prints seconds (median of three cold runs for changes and its peers) and
# ratios. Needs root (mounts, drop_caches).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
goldroot=${GOLDROOT:-$here/build/bin/goldroot}
cache=${GOLDROOT_BENCH_CACHE:-/var/cache/goldroot}
work=${GOLDROOT_BENCH_WORK:-$here/bench/work-changes}
[ "$(id -u)" = 0 ] || { echo "bench needs root (mounts, drop_caches)" >&2; exit 1; }
[ -e "$cache/bench-v2.stamp" ] && [ -e "$cache/bench-v1.stamp" ] || {
  echo "build the trees first: scripts/build-rootfs.sh $cache/bench-v1;" \
       "scripts/build-rootfs.sh $cache/bench-v2 less vim-tiny ca-certificates procps iproute2" >&2
  exit 1
}
v1="$cache/bench-v1"; v2="$cache/bench-v2"

cleanup() { umount "$work/merged" 2>/dev/null || true; [ -n "${KEEP_BENCH_WORK:-}" ] || rm -rf "$work"; }
rm -rf "$work"; mkdir -p "$work"/{upper,work,merged}
trap cleanup EXIT
cold() { sync; echo 3 > /proc/sys/vm/drop_caches; }
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s.%N); echo "$end - $start" | bc; }
ratio() { echo "scale=1; $1 / $2" | bc; }
# The median of three cold runs: this machine is shared, single runs are noisy.
cold_median() {
  local runs=()
  for _ in 1 2 3; do cold; runs+=("$(seconds "$@")"); done
  printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p
}
mount_merged() {
  mount -t overlay overlay -o "lowerdir=$work/lower,upperdir=$work/upper,workdir=$work/work" "$work/merged"
}

export GOLDROOT_SITE="$work/site"
"$goldroot" init >/dev/null
"$goldroot" image import "$v1" --name v1 >/dev/null
"$goldroot" image checkout v1 "$work/lower" 2>/dev/null
mount_merged
rsync -aHAX --delete "$v2/" "$work/merged/"
umount "$work/merged"
entries=$(find "$work/lower" | wc -l)
upper_entries=$(find "$work/upper" | wc -l)
upper_bytes=$(du -sb "$work/upper" | cut -f1)
cp -a "$work/site" "$work/site-import"  # the import peer starts from the same store

# Peers read the mounted merged view, cold, as an admin would.
mount_merged
t_rsync=$(cold_median rsync -anc --delete -i "$work/merged/" "$work/lower/")
t_diff=$(cold_median diff -rq --no-dereference "$work/merged" "$work/lower")
umount "$work/merged"
t_changes=$(cold_median "$goldroot" changes --lower v1 --upper "$work/upper" --json)
t_changes_dir=$(cold_median "$goldroot" changes --lower "$work/lower" --upper "$work/upper" --json)
t_start=$(cold_median "$goldroot" --version)  # the floor: loading the binary and its libraries
summary=$("$goldroot" changes --lower v1 --upper "$work/upper" | sed -n 1p)

cold; t_capture=$(seconds "$goldroot" capture --lower v1 --upper "$work/upper" --name v2)
cold; t_import=$(GOLDROOT_SITE="$work/site-import" seconds "$goldroot" image import "$v2" --name v2)

# The capture must be exactly v2: import v2 into the same site and compare.
"$goldroot" image import "$v2" --name v2-imported >/dev/null
same=$("$goldroot" image diff v2 v2-imported 2>/dev/null | wc -l)

printf '\nchange tracking benchmark: v1 %s entries; the upper after v1 -> v2 holds %s entries, %s MB\n' \
  "$entries" "$upper_entries" "$((upper_bytes / 1000000))"
printf 'goldroot changes says: %s\n' "$summary"
printf '%-46s %9s %9s %8s\n' step peer goldroot speedup
printf '%-46s %8.2fs %8.2fs %7.1fx\n' "changes vs rsync -anc --delete -i (cold)" "$t_rsync" "$t_changes" "$(ratio "$t_rsync" "$t_changes")"
printf '%-46s %8.2fs %8.2fs %7.1fx\n' "changes vs diff -rq (cold)" "$t_diff" "$t_changes" "$(ratio "$t_diff" "$t_changes")"
printf '%-46s %8.2fs %8.2fs %7.1fx\n' "changes, directory lower, vs rsync (cold)" "$t_rsync" "$t_changes_dir" "$(ratio "$t_rsync" "$t_changes_dir")"
printf '%-46s %9s %8.2fs\n' "of which process start (goldroot --version)" "" "$t_start"
printf '%-46s %8.2fs %8.2fs %7.1fx\n' "capture vs fresh image import of v2 (cold)" "$t_import" "$t_capture" "$(ratio "$t_import" "$t_capture")"
if [ "$same" = 0 ]; then echo "capture == import of v2: identical trees"; else
  echo "capture differs from the import of v2 in $same paths!" >&2; exit 1; fi

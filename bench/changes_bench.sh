#!/usr/bin/env bash
# Change tracking benchmark on the v1 -> v2 debootstrap pair of the store
# benchmark: the lower is a checkout of v1, the upper is what applying v2
# through an overlay mount leaves (rsync -aHAX --delete v2/ merged/).
#   changes: goldroot changes (store lower and directory lower) against
#            rsync -anc --delete -i merged/ lower/ and diff -rq, all cold
#   capture: goldroot capture against a fresh `image import` of v2, cold
# Then checks that the capture and the import of v2 are the same tree.
# Every timed run starts cold (sync; drop_caches), the peers' too. The runs
# are interleaved — each round runs every command once — so a burst of load
# on this shared machine hits peer and goldroot alike. Prints the median of
# BENCH_RUNS rounds (default 5; capture/import: 3) and the ratios.
# Needs root (mounts, drop_caches).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
goldroot=${GOLDROOT:-$here/build/bin/goldroot}
cache=${GOLDROOT_BENCH_CACHE:-/var/cache/goldroot}
work=${GOLDROOT_BENCH_WORK:-$here/bench/work-changes}
source "$here/bench/lib/bench.sh"
bench_needs_root "mounts, drop_caches"
bench_trees

cleanup() { umount "$work/merged" 2>/dev/null || true; [ -n "${KEEP_BENCH_WORK:-}" ] || rm -rf "$work"; }
rm -rf "$work"; mkdir -p "$work"/{upper,work,merged}
trap cleanup EXIT
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s.%N); echo "$end - $start" | bc; }
runs=${BENCH_RUNS:-5}
declare -A samples
# interleaved COMMAND...: `runs` rounds, each running every COMMAND (a
# function name) once from a cold cache; samples[COMMAND] collects seconds.
interleaved() {
  local round command
  for round in $(seq 1 "$runs"); do
    for command in "$@"; do cold; samples[$command]+="$(seconds "$command") "; done
  done
}
median_of() { median ${samples[$1]}; }
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

# Peers read the mounted merged view, cold, as an admin would; goldroot
# reads the upper dir (the mount does not matter to it).
peer_rsync() { rsync -anc --delete -i "$work/merged/" "$work/lower/"; }
peer_diff() { diff -rq --no-dereference "$work/merged" "$work/lower"; }
changes_store() { "$goldroot" changes --lower v1 --upper "$work/upper" --json; }
changes_dir() { "$goldroot" changes --lower "$work/lower" --upper "$work/upper" --json; }
start_only() { "$goldroot" --version; }  # the floor: loading the binary and its libraries
mount_merged
interleaved peer_rsync changes_store peer_diff changes_dir start_only
umount "$work/merged"
t_rsync=$(median_of peer_rsync); t_diff=$(median_of peer_diff)
t_changes=$(median_of changes_store); t_changes_dir=$(median_of changes_dir)
t_start=$(median_of start_only)
summary=$("$goldroot" changes --lower v1 --upper "$work/upper" | sed -n 1p)

# capture vs a fresh import of v2, both into a copy of the v1 site made
# before each run (so every capture and every import starts from the same
# store), interleaved and cold.
capture_v2() { "$goldroot" --site "$work/site-run" capture --lower v1 --upper "$work/upper" --name v2; }
import_v2() { "$goldroot" --site "$work/site-run" image import "$v2" --name v2; }
for round in $(seq 1 "${BENCH_CAPTURE_RUNS:-3}"); do
  for command in import_v2 capture_v2; do
    rm -rf "$work/site-run"; cp -a "$work/site-import" "$work/site-run"
    cold; samples[$command]+="$(seconds "$command") "
  done
done
rm -rf "$work/site-run"
t_capture=$(median_of capture_v2); t_import=$(median_of import_v2)
"$goldroot" capture --lower v1 --upper "$work/upper" --name v2 >/dev/null

# The capture must be exactly v2: import v2 into the same site and compare.
"$goldroot" image import "$v2" --name v2-imported >/dev/null
same=$("$goldroot" image diff v2 v2-imported 2>/dev/null | wc -l)

printf '\nchange tracking benchmark: v1 %s entries; the upper after v1 -> v2 holds %s entries, %s MB\n' \
  "$entries" "$upper_entries" "$((upper_bytes / 1000000))"
printf 'goldroot changes says: %s\n' "$summary"
printf 'load average: %s on %s cores; medians of %s interleaved cold rounds\n' \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)" "$runs"
printf '%-46s %9s %9s %8s\n' step peer goldroot speedup
printf '%-46s %8.2fs %8.2fs %7.1fx\n' "changes vs rsync -anc --delete -i (cold)" "$t_rsync" "$t_changes" "$(ratio "$t_rsync" "$t_changes")"
printf '%-46s %8.2fs %8.2fs %7.1fx\n' "changes vs diff -rq (cold)" "$t_diff" "$t_changes" "$(ratio "$t_diff" "$t_changes")"
printf '%-46s %8.2fs %8.2fs %7.1fx\n' "changes, directory lower, vs rsync (cold)" "$t_rsync" "$t_changes_dir" "$(ratio "$t_rsync" "$t_changes_dir")"
printf '%-46s %9s %8.3fs\n' "of which process start (goldroot --version)" "" "$t_start"
printf '%-46s %8.2fs %8.2fs %7.1fx\n' "capture vs fresh image import of v2 (cold)" "$t_import" "$t_capture" "$(ratio "$t_import" "$t_capture")"
for command in peer_rsync changes_store peer_diff changes_dir start_only import_v2 capture_v2; do
  printf '  runs %-14s %s\n' "$command" "${samples[$command]}"
done
if awk -v r="$(ratio "$t_rsync" "$t_changes")" 'BEGIN { exit !(r >= 10) }'; then
  echo "goal: changes >= 10x faster than rsync: met on this run"
else
  echo "goal: changes >= 10x faster than rsync: not met on this run"
fi
if [ "$same" = 0 ]; then echo "capture == import of v2: identical trees"; else
  echo "capture differs from the import of v2 in $same paths!" >&2; exit 1; fi

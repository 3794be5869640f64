#!/usr/bin/env bash
# Layout benchmark: what a client holding the previous export fetches for
# the next one — 4 KiB blocks of the new image whose bytes appear nowhere in
# the old (matched by hash, as the client seeds) — when `goldroot image
# export` keeps the previous export's layout put, against a fresh layout of
# the same commit; and the seconds each export takes. Two updates: the
# bench pair v1 -> v2 (five packages added) and v1 -> v1 + less (one small
# package, installed with dpkg from this machine's apt sources). Needs root
# (dpkg --root).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
goldroot=${GOLDROOT:-$here/build/bin/goldroot}
cache=${GOLDROOT_BENCH_CACHE:-/var/cache/goldroot}
work=${GOLDROOT_BENCH_WORK:-$here/bench/work-layout}
source "$here/bench/lib/bench.sh"
bench_needs_root "dpkg --root"
bench_trees

rm -rf "$work"; mkdir -p "$work"
trap '[ -n "${KEEP_BENCH_WORK:-}" ] || rm -rf "$work"' EXIT
# v1 + less, as `apt-get install less` would leave it.
(cd "$work" && apt-get download -q less >/dev/null)
cp -a "$v1" "$work/v1-less"
dpkg --root="$work/v1-less" --force-script-chrootless -i "$work"/less_*.deb >/dev/null 2>&1 ||
  dpkg --root="$work/v1-less" -i "$work"/less_*.deb >/dev/null
less_kb=$(dpkg-deb -f "$work"/less_*.deb Installed-Size)

seconds() { local start end; start=$(date +%s.%N); "$@" >"$work/out"; end=$(date +%s.%N); echo "$end - $start" | bc; }
# measure NAME OLD NEW FLAG: exports OLD then NEW (timed, with FLAG) in a
# fresh site; prints "seconds differing total" for NEW.
measure() {
  export GOLDROOT_SITE="$work/site-$1"
  "$goldroot" init >/dev/null
  "$goldroot" image import "$2" --name b >/dev/null
  "$goldroot" image export b >/dev/null
  "$goldroot" image import "$3" --name b >/dev/null
  local t; t=$(seconds "$goldroot" image export b $4)
  local line; line=$(grep '^export: ' "$work/out")
  echo "$t $(echo "$line" | awk '{print $2, $4}')"
  rm -rf "$work/site-$1"
}

printf '\nlayout benchmark: blocks a client holding the previous export fetches\n'
printf '%-34s %-10s %8s %16s %9s %9s\n' update layout seconds "blocks fetched" MiB share
for pair in "v1->v2:$v1:$v2" "v1->v1+less:$v1:$work/v1-less"; do
  IFS=: read -r name old new <<<"$pair"
  for layout in fresh kept; do
    flag=""; [ "$layout" = fresh ] && flag="--fresh-layout"
    read -r t differ total < <(measure "$layout" "$old" "$new" "$flag")
    printf '%-34s %-10s %7.2fs %7s of %-7s %9.1f %8.2f%%\n' "$name" "$layout" "$t" "$differ" "$total" \
      "$(echo "scale=1; $differ * 4096 / 1048576" | bc)" "$(echo "scale=2; 100 * $differ / $total" | bc)"
  done
done
printf '(less installs %s KiB of files)\n' "$less_kb"

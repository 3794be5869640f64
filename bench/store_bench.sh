#!/usr/bin/env bash
# Image store benchmark: goldroot against `ostree commit` (bare repo, fsync
# on) on the same debootstrap trees, cold cache before every timed step.
#   v1 = bookworm minbase; v2 = v1 + less vim-tiny ca-certificates procps iproute2
# /dev is emptied in both inputs because ostree refuses device nodes.
# Prints seconds, ratios, the bytes v2 added to each store, and checkout
# time against cp -a.  Needs root (drop_caches) and debootstrap's mirror.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
goldroot=${GOLDROOT:-$here/build/bin/goldroot}
cache=${GOLDROOT_BENCH_CACHE:-/var/cache/goldroot}
work=${GOLDROOT_BENCH_WORK:-$here/bench/work}
source "$here/bench/lib/bench.sh"
bench_needs_root "drop_caches"
command -v ostree >/dev/null || { echo "bench needs ostree" >&2; exit 1; }

bench_trees

rm -rf "$work"; mkdir -p "$work"
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); echo "$end - $start" | bc; }

# Both tools read the same directory, which moves from v1 to v2 the way an
# admin's maintained tree does (rsync rewrites only what changed).
tree="$work/tree"
cp -a "$v1" "$tree"; rm -rf "$tree"/dev/*
cp -a "$v2" "$work/v2"; rm -rf "$work/v2"/dev/*
sleep 3  # let the copies age past the stat cache's racy window, as real trees are
entries=$(find "$tree" | wc -l); size=$(du -sb "$tree" | cut -f1)

ostree --repo="$work/ostree" init --mode=bare
export GOLDROOT_SITE="$work/site"
"$goldroot" init >/dev/null

cold; o1=$(seconds ostree --repo="$work/ostree" commit --branch=lab --tree=dir="$tree")
cold; g1=$(seconds "$goldroot" image import "$tree" --name lab)

rsync -aHAX --delete "$work/v2/" "$tree/"
o_before=$(du -sb "$work/ostree/objects" | cut -f1); g_before=$(du -sb "$work/site/store/objects" | cut -f1)
cold; o2=$(seconds ostree --repo="$work/ostree" commit --branch=lab --tree=dir="$tree")
cold; g2=$(seconds "$goldroot" image import "$tree" --name lab)
o_added=$(( $(du -sb "$work/ostree/objects" | cut -f1) - o_before ))
g_added=$(( $(du -sb "$work/site/store/objects" | cut -f1) - g_before ))
changed=$("$goldroot" image diff lab~1 lab 2>&1 >/dev/null | tail -n1)

cold; cpa=$(seconds cp -a "$tree" "$work/cp-copy")
cold; gco=$(seconds "$goldroot" image checkout lab "$work/gr-copy")
[ -z "$(rsync -aHAXnci --numeric-ids "$tree/" "$work/gr-copy/")" ] || { echo "checkout differs!" >&2; exit 1; }

printf '\nimage store benchmark (%s entries, %s MB in v1; v2: %s)\n' \
  "$entries" "$((size / 1000000))" "$changed"
printf '%-34s %9s %9s %8s\n' step ostree goldroot speedup
printf '%-34s %8.2fs %8.2fs %7.1fx\n' "import v1 (cold)" "$o1" "$g1" "$(ratio "$o1" "$g1")"
printf '%-34s %8.2fs %8.2fs %7.1fx\n' "import v2 over v1 (cold)" "$o2" "$g2" "$(ratio "$o2" "$g2")"
printf '%-34s %9s %9s\n' "bytes v2 added to the store" "$o_added" "$g_added"
printf '%-34s %8.2fs %8.2fs %7.1fx\n' "checkout v2 vs cp -a (cold)" "$cpa" "$gco" "$(ratio "$cpa" "$gco")"
[ -n "${KEEP_BENCH_WORK:-}" ] || rm -rf "$work"

#!/usr/bin/env bash
# `goldroot capture --host` against the manual way, on the v1 -> v2
# debootstrap pair of the store benchmark: a maintenance host booted v1 and
# became v2 (its upper is what applying v2 through an overlay mount
# leaves). Timed, each from a cold cache, interleaved over BENCH_RUNS rounds
# (default 3), median printed:
#   goldroot  capture --host: the real agent uploads the upper to a real
#             `goldroot serve` on loopback; capture, erofs export, test moves
#   rsync     the upper copied to the server with rsync -aHAX (rsync daemon
#             on loopback), then goldroot capture --lower --upper and export
#   rebuild   what a site without capture does: import v2 afresh and export
# The agent keeps its default interval (60 s); as the host is in
# maintenance mode the server has it report every 2 s, so the wait for it
# to pick the request up (0-2 s) is part of goldroot's time, as in a lab.
# Needs root (mounts, trusted xattrs, drop_caches).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
goldroot=${GOLDROOT:-$here/build/bin/goldroot}
agent=${GOLDROOT_AGENT:-$here/build/bin/goldroot-agent}
cache=${GOLDROOT_BENCH_CACHE:-/var/cache/goldroot}
work=${GOLDROOT_BENCH_WORK:-$here/bench/work-capture-host}
source "$here/bench/lib/bench.sh"
bench_needs_root "mounts, drop_caches"
bench_trees
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  umount "$work/merged" 2>/dev/null || true
  [ -n "${KEEP_BENCH_WORK:-}" ] || rm -rf "$work"
}
rm -rf "$work"; mkdir -p "$work"/{upper,work,merged,spool}
trap cleanup EXIT
seconds() { local start end; start=$(date +%s.%N); "$@" >"$work/last.out" 2>&1 || { cat "$work/last.out" >&2; exit 1; }; end=$(date +%s.%N); echo "$end - $start" | bc; }
runs=${BENCH_RUNS:-3}

export GOLDROOT_SITE="$work/site"
"$goldroot" init >/dev/null
v1_commit=$("$goldroot" image import "$v1" --name v1)
"$goldroot" image export v1 >/dev/null
"$goldroot" channel set gold v1 >/dev/null
"$goldroot" host add pc01 --mac 52:54:00:00:00:01 --mode maintenance >/dev/null
"$goldroot" image checkout v1 "$work/lower" >/dev/null 2>&1
mount -t overlay overlay -o "lowerdir=$work/lower,upperdir=$work/upper,workdir=$work/work" "$work/merged"
rsync -aHAX --delete "$v2/" "$work/merged/"
umount "$work/merged"
upper_entries=$(find "$work/upper" | wc -l)
upper_bytes=$(du -sb "$work/upper" | cut -f1)

port=$((20000 + RANDOM % 20000))
"$goldroot" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/api/v1/channels" && break; sleep 0.1; done
cat >"$work/boot.json" <<JSON
{"version": 1, "mode": "maintenance", "host": "pc01", "mac": "52:54:00:00:00:01",
 "server": "http://127.0.0.1:$port", "manifest": {"sha256": "$(printf '%064d' 7)"},
 "commit": "$v1_commit", "lower": "$work/lower", "middle": "",
 "upper": {"kind": "disk", "path": "$work/upper"}}
JSON
"$goldroot" host token pc01 >"$work/token"
"$agent" --boot-state "$work/boot.json" --token-file "$work/token" --spool "$work/spool" \
  --ignore-file /nonexistent >"$work/agent.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do "$goldroot" status --json | grep -q '"up"' && break; sleep 0.1; done

mkdir -p "$work/received"
cat >"$work/rsyncd.conf" <<CONF
uid = root
gid = root
use chroot = no
[upper]
path = $work/received
read only = no
CONF
rsync_port=$((port + 1))
rsync --daemon --no-detach --port "$rsync_port" --config "$work/rsyncd.conf" &
pids+=($!)
sleep 0.5

round=0
with_goldroot() { "$goldroot" capture --host pc01 --name "host-$round" --channel test --yes; }
with_rsync() {
  rm -rf "$work/received"/* "$work/received"/.[!.]* 2>/dev/null || true
  rsync -aHAX --numeric-ids "$work/upper/" "rsync://127.0.0.1:$rsync_port/upper/"
  "$goldroot" capture --lower v1 --upper "$work/received" --name "rsync-$round"
  "$goldroot" image export "rsync-$round"
}
with_rebuild() { "$goldroot" image import "$v2" --name "rebuild-$round" && "$goldroot" image export "rebuild-$round"; }
declare -A samples
for round in $(seq 1 "$runs"); do
  for command in with_goldroot with_rsync with_rebuild; do
    cold
    samples[$command]+="$(seconds "$command") "
  done
done
g=$(median ${samples[with_goldroot]}); r=$(median ${samples[with_rsync]}); b=$(median ${samples[with_rebuild]})
echo "upper: $upper_entries entries, $((upper_bytes / 1024 / 1024)) MiB (v1 -> v2); load $(cut -d' ' -f1 /proc/loadavg)"
echo "capture --host (agent upload, capture, export): ${g}s   samples: ${samples[with_goldroot]}"
echo "rsync -aHAX to the server + capture + export:   ${r}s   samples: ${samples[with_rsync]}"
echo "fresh import of v2 + export:                    ${b}s   samples: ${samples[with_rebuild]}"
echo "ratio rsync / goldroot: $(ratio "$r" "$g")x; rebuild / goldroot: $(ratio "$b" "$g")x"
# The captures are the same tree (all but boot noise left out: none here).
"$goldroot" image diff "host-$runs" "rsync-$runs" | grep -q . &&
  { echo "capture --host and the rsync capture differ" >&2; exit 1; }
echo "capture --host and the rsync-based capture give the same tree"

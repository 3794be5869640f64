#!/usr/bin/env bash
# A boot storm: N lab PCs switched on at once against one `goldroot serve`
# whose link is shaped to 1 Gbit/s (tc tbf on its bridge), on demand
# (fetch=demand) against whole-image downloads (fetch=full), N = 1, 20, 60.
#
# Sixty QEMU clients do not fit on two cores, so each simulated PC is
# bench/boot_storm_client.cc in a network namespace of its own (its own IP
# on the lab bridge): goldroot-boot's identity, signed manifest and signed
# layer requests, then goldroot-blockd's verifying source replaying the boot
# read set a real client recorded, then the fill of the rest (on demand), or
# the whole image with its sha256 checked (full). First one real QEMU client
# with a data disk boots on demand, to record that read set and as the check
# that the storm's path is the one a PC takes.
#
# The read set is replayed at the recorded boot's pace (the read set keeps
# when each extent was first read), compressed into STORM_PACE seconds
# (default 10: the QEMU guest boots under software emulation, many times
# slower than a lab PC), so the single client's figure is a boot, not a
# burst; on demand the fill runs beside the reads from the start, as
# goldroot-blockd's does. The server runs with --link-rate 1gbit, matching
# the shaping: while boot reads are answered, the PCs' fills (marked
# X-Goldroot-Fill) get what the boots leave of the link. A last row repeats
# the largest N on demand with the server's fill lane off (--link-rate off),
# the server as it was before (STORM_COMPARE=0 skips it). STORM_MODES
# (default "demand full") picks the modes. STORM_STAGGER=S switches the PCs
# on one by one over S seconds instead of all at once (default 0): the
# first ones then fill while the last ones boot.
#
# The recorded read set is kept under $cache/storm-readsets/, named by the
# digest of the image past its first block (the superblock there names the
# commit, new at every import; the layout after it is the tree's): a later
# run on the same tree skips the QEMU boot.
#
# Prints per N and mode: the slowest and median client to finish its boot
# read set (the part a user waits for), to finish everything, failures, the
# image bytes the server sent (its access log), and the slowest and median
# against N = 1 in the same mode. Goal: at N = 60 every client's read set
# within 2x the single client's, with 0 failures.
#
# Usage: bench/boot_storm_bench.sh [N…]   (default 1 20 60; root, after
# scripts/setup.sh and a build with boot_storm_client)
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD
build=${BUILD:-$PWD/build}
goldroot=${GOLDROOT:-$build/bin/goldroot}
client=$build/bin/boot_storm_client
[ -x "$client" ] || { echo "boot_storm_bench: build boot_storm_client first (cmake --build build --target boot_storm_client)" >&2; exit 1; }
counts=("${@:-1 20 60}")
read -r -a counts <<<"${counts[*]}"
cache=${GOLDROOT_CACHE:-/var/cache/goldroot}
pace=${STORM_PACE:-10}
compare=${STORM_COMPARE:-1}
read -r -a modes <<<"${STORM_MODES:-demand full}"
stagger=${STORM_STAGGER:-0}
scripts/build-rootfs.sh "$cache/demo-rootfs" linux-image-amd64 systemd systemd-sysv
work=$(mktemp -d /var/tmp/storm.XXXXXX)
chmod 0755 "$work"
export GOLDROOT_SITE=$work/site
export LAB_NS=${LAB_NS:-goldroot-storm}
source scripts/lib/lab.sh
source bench/lib/bench.sh
bench_needs_root "network namespaces, tc"
max_clients=0
for n in "${counts[@]}"; do ((n > max_clients)) && max_clients=$n; done
cleanup() {
  for i in $(seq 1 "$max_clients"); do ip netns del "storm$i" 2>/dev/null || true; done
  lab_down
  rm -rf "$work"
}
trap cleanup EXIT
gr() { "$goldroot" "$@"; }

gr init >/dev/null
gr site set enroll=first-use >/dev/null
gr image import "$cache/demo-rootfs" --name bench >/dev/null
gr image export bench >/dev/null
gr channel set gold bench >/dev/null
gr network add 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1 >/dev/null
gr host add real1 --mac 52:54:00:79:00:01 --ip 10.77.0.9 --fetch demand >/dev/null
for i in $(seq 1 "$max_clients"); do
  gr host add "sim$i" --mac "$(printf '52:54:00:79:01:%02x' "$i")" --ip "10.77.0.$((99 + i))" >/dev/null
done
image_file=$(find "$GOLDROOT_SITE/exports" -name '*.erofs' | head -1)
image_size=$(stat -c %s "$image_file")
layout=$(python3 - "$image_file" <<'EOF'
import hashlib, sys
with open(sys.argv[1], "rb") as image:
    image.seek(4096)
    digest = hashlib.sha256()
    for chunk in iter(lambda: image.read(1 << 20), b""):
        digest.update(chunk)
print(digest.hexdigest())
EOF
)
recorded=$cache/storm-readsets/$layout

lab_up "$work/lab"
lab_serve --link-rate 1gbit
access_log=$GOLDROOT_SITE/logs/access.log
ip netns exec "$LAB_NS" tc qdisc add dev "$LAB_BRIDGE" root tbf rate 1gbit burst 256kb latency 100ms
for i in $(seq 1 "$max_clients"); do
  ip netns add "storm$i"
  ip link add "sv$i" netns "$LAB_NS" type veth peer name eth0 netns "storm$i"
  ip -n "$LAB_NS" link set "sv$i" master "$LAB_BRIDGE" up
  ip -n "storm$i" addr add "10.77.0.$((99 + i))/24" dev eth0
  ip -n "storm$i" link set eth0 up
  ip -n "storm$i" link set lo up
done

# The real client: boots on demand with a data disk, records its read set
# (unless a run on this image already did).
readset=$work/boot.readset
if [ -s "$recorded.readset" ] && [ -s "$recorded.login" ]; then
  cp "$recorded.readset" "$readset"
  real_login="$(cat "$recorded.login") s (an earlier run's recording)"
else
  disk=$(lab_disk real1 2G)
  lab_boot real1 52:54:00:79:00:01 "$disk"
  lab_wait real1 'login:' 900 >/dev/null
  real_login="$(lab_seconds_to real1 'login:') s"
  sleep 20  # the daemon saves its read set on its status tick
  lab_kill real1
  mnt=$work/mnt
  mkdir -p "$mnt"
  start=$(sfdisk -J "$disk" | python3 -c 'import json, sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["start"])')
  # The client was switched off: mounting its partition read-write replays
  # the journal (the daemon's atomic, synced write of the read set is in it).
  mount -o loop,offset=$((start * 512)) "$disk" "$mnt"
  cp "$(ls "$mnt"/goldroot/cache/*.readset | head -1)" "$readset" || true
  umount "$mnt"
  rm -f "$disk"
  [ -s "$readset" ] || { echo "boot_storm_bench: the real client recorded no read set" >&2; exit 1; }
  mkdir -p "$(dirname "$recorded")"
  cp "$readset" "$recorded.readset.tmp" && mv "$recorded.readset.tmp" "$recorded.readset"
  echo "${real_login% s}" >"$recorded.login"
fi
readset_blocks=$(awk 'NR > 1 {n += $2} END {print n}' "$readset")
# The recorded boot's span: from its first read to its last (ms column).
readset_span=$(awk 'NR == 2 {first = $3} NR > 1 {last = $3} END {printf "%.1f", (last - first) / 1000}' "$readset")

# image_bytes_since LINE: image bytes of /images/ in the access log after LINE.
image_bytes_since() {
  tail -n +"$(($1 + 1))" "$access_log" | python3 -c '
import json, sys
print(sum(json.loads(l).get("bytes", 0) for l in sys.stdin if json.loads(l).get("path", "").startswith("/images/")))'
}

# fill_lane_since LINE: what the server's fill lane did after LINE of the
# access log: fill responses, how many it held back, for how long in all.
fill_lane_since() {
  tail -n +"$(($1 + 1))" "$access_log" | python3 -c '
import json, sys
fills = [json.loads(l) for l in sys.stdin if "\"fill\":true" in l]
held = [f["held_ms"] for f in fills if f.get("held_ms", 0) > 0]
if fills: print(f"       fill lane: {len(held)} of {len(fills)} fill responses held back for boot reads, "
      f"{sum(held) / 1000:.1f} s in all")'
}

# storm N MODE [LABEL]: N simulated PCs at once; prints one result row, and
# keeps N = 1's figures as the mode's baseline.
storm() {
  local n=$1 mode=$2 label=${3:-$2} i before pids=()
  before=$(wc -l <"$access_log")
  rm -rf "$work/out" && mkdir -p "$work/out"
  for i in $(seq 1 "$n"); do
    mkdir -p "$work/clients/$i"
    local extra=(--readset "$readset" --pace-seconds "$pace")
    [ "$mode" = demand ] && extra+=(--fill)
    ip netns exec "storm$i" "$client" --server "http://$LAB_SERVER_IP:$LAB_PORT" \
      --mac "$(printf '52:54:00:79:01:%02x' "$i")" --host-key "$work/clients/$i/host.key" \
      --site-key "$GOLDROOT_SITE/keys/site.pub" --mode "$mode" --cache-dir "$work/clients/$i" \
      "${extra[@]}" >"$work/out/$i.json" 2>"$work/out/$i.err" &
    pids+=($!)
    ((i < n)) && sleep "$(awk -v s="$stagger" -v n="$n" 'BEGIN {print s / n}')"
  done
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  python3 - "$n" "$mode" "$(image_bytes_since "$before")" "$work/out" "$label" "$work/baseline.$mode" <<'EOF'
import glob, json, os, statistics, sys
n, mode, sent, out, label, baseline = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
rows, failures = [], 0
for path in glob.glob(out + "/*.json"):
    try:
        r = json.load(open(path))
    except ValueError:
        r = {"error": "no result"}
    if "error" in r or r.get("verify_failures", 0):
        failures += 1
        print("  failed:", path, r.get("error"), open(path[:-5] + ".err").read()[-300:], file=sys.stderr)
    else:
        rows.append(r)
first = [r["readset_s" if mode == "demand" else "image_s"] for r in rows] or [0]
done = [r["fill_s" if mode == "demand" else "image_s"] for r in rows] or [0]
late = max([r.get("readset_late_s", 0) for r in rows] or [0])
if n == 1 and not os.path.exists(baseline):
    open(baseline, "w").write(f"{max(first)} {statistics.median(first)}")
base = [float(v) for v in open(baseline).read().split()] if os.path.exists(baseline) else [0, 0]
def times(value, of):
    return f"{value / of:.2f}x" if of > 0 else "-"
print(f"{n:>4} {label:<16} {max(first):>10.1f} {statistics.median(first):>10.1f} "
      f"{max(done):>10.1f} {statistics.median(done):>10.1f} {failures:>8} {sent / 2**20:>9.0f} "
      f"{times(max(first), base[0]):>8} {times(statistics.median(first), base[1]):>8} {late:>8.1f}")
EOF
  [ "$mode" = demand ] && fill_lane_since "$before"
  return 0
}

echo "image: $((image_size >> 20)) MiB; boot read set: $((readset_blocks * 4096 >> 20)) MiB ($readset_blocks blocks," \
  "recorded by a QEMU client that reached its login prompt on demand in ${real_login})"
echo "pace: the recorded boot's reads, first to last over ${readset_span} s under TCG, replayed in" \
  "their recorded rhythm over ${pace} s (each read not before its time; late reads go at once)"
echo "server link: 1 Gbit/s (tc tbf), goldroot serve --link-rate 1gbit; each simulated PC:" \
  "4 readers of 128 KiB, 64 KiB Range units, the fill beside them (on demand)"
[ "$stagger" = 0 ] || echo "the PCs are switched on one by one over $stagger s"
echo "load before: $(uptime | sed 's/.*load average/load average/')"
printf '%4s %-16s %10s %10s %10s %10s %8s %9s %8s %8s %8s\n' N mode "boot max s" "boot med s" \
  "done max s" "done med s" failures "MiB sent" "max/N=1" "med/N=1" "late s"
for n in "${counts[@]}"; do
  for mode in "${modes[@]}"; do storm "$n" "$mode"; done
done
if [ "$compare" = 1 ]; then
  kill "$LAB_SERVE_PID" && wait "$LAB_SERVE_PID" 2>/dev/null || true
  lab_serve --link-rate off
  storm "$max_clients" demand "demand, lane off"
fi
echo "load after: $(uptime | sed 's/.*load average/load average/')"
echo "(boot: the read set on demand, the whole download for full; done: the fill on demand;" \
  "late: the most any read went out after its paced time)"

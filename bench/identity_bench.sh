#!/usr/bin/env bash
# What host identity (#14) costs a boot: goldroot-boot against `goldroot
# serve` on loopback, an older build (--before, e.g. 44d49d7: unsigned
# manifest and layer requests) against this one (build/bin: a challenge, a
# request signed with the host's ed25519 key, a host-bound manifest, a second
# challenge and a signed layer request), measured in the same run:
#   - per version a fresh site: a small image (fake kernel and initrd, a few
#     MB of files) exported on channel gold, one lab, one host pc01; where
#     `lab add` knows --enroll, the lab enrolls first use;
#   - per version its own `goldroot serve`, and its goldroot-boot in a private
#     mount namespace as tests/boot_root.sh runs it, a fresh run directory
#     each round; where goldroot-boot knows --host-key, the key file is kept
#     across rounds (a disk-backed host, enrolled once);
#   - one uncounted first boot per version (it enrolls the key), then ROUNDS
#     rounds, the two versions alternating and swapping who goes first;
#   - the timings goldroot-boot records in boot.json (timings_ms: manifest,
#     layer, total — whole milliseconds, truncated), and the process's wall
#     time from outside;
#   - the server alone: REQUESTS manifest fetches per version, alternating,
#     timed by curl — signed (a challenge, then the signed GET; the signing
#     itself is openssl on the client, not timed) where the site has a host
#     key, a plain GET otherwise.
# Prints median, min and mean per step and version, after - before of the
# manifest+layer medians, and the ratio after/before.
#
# Usage: bench/identity_bench.sh --before DIR [--after DIR] [--rounds N] [--requests N]
#   DIR holds goldroot and goldroot-boot; --after defaults to build/bin,
#   --rounds to 20, --requests to 200 (0 skips the server part).
# Needs root (mount namespaces, loop devices), erofs, mkfs.erofs, curl, openssl.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/bench/lib/bench.sh"

usage() { sed -n 's/^# Usage: //p' "$0" >&2; exit 2; }
before_dir="" after_dir="$here/build/bin" rounds=20 requests=200
while [ $# -gt 0 ]; do
  case $1 in
    --before) before_dir=${2:?}; shift 2 ;;
    --after) after_dir=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --requests) requests=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$before_dir" ] || usage
bench_needs_root "mount namespaces and loop devices"
for tool in unshare mkfs.erofs curl openssl python3; do
  command -v "$tool" >/dev/null || { echo "identity_bench: needs $tool (scripts/setup.sh installs it)" >&2; exit 1; }
done
grep -qw erofs /proc/filesystems || modprobe erofs 2>/dev/null || true
grep -qw erofs /proc/filesystems || { echo "identity_bench: needs erofs in the kernel" >&2; exit 1; }
declare -A bin
for version in before after; do
  dir=$([ $version = before ] && echo "$before_dir" || echo "$after_dir")
  for program in goldroot goldroot-boot; do
    [ -x "$dir/$program" ] || { echo "identity_bench: no $program in $dir" >&2; exit 1; }
  done
  bin[$version]=$(realpath "$dir")
done

work=$(mktemp -d /tmp/goldroot-identity-bench.XXXXXX)
chmod 0755 "$work"
servers=()
cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mac=52:54:00:aa:00:01
now_us() { echo $(( $(date +%s%N) / 1000 )); }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The image tree, the same bytes for both versions: ~4.5 MB that do not compress.
src=$work/src
mkdir -p "$src/boot" "$src/etc" "$src/usr/lib/bench"
head -c 512000 /dev/urandom >"$src/boot/vmlinuz-6.1.0-28-amd64"
head -c 1048576 /dev/urandom >"$src/boot/initrd.img-6.1.0-28-amd64"
for i in $(seq 1 12); do head -c 262144 /dev/urandom >"$src/usr/lib/bench/file$i"; done
echo template >"$src/etc/hostname"
echo "from the image" >"$src/etc/issue"

# site_up VERSION: its site, lab, host and layer, and its server.
declare -A site url host_key
site_up() {
  local version=$1 goldroot=${bin[$1]}/goldroot
  local dir=$work/$1
  mkdir -p "$dir/tmp"
  site[$version]=$dir/site
  local g=(env GOLDROOT_SITE="$dir/site" "$goldroot")
  "${g[@]}" init >/dev/null
  "${g[@]}" image import "$src" --name bench >/dev/null
  "${g[@]}" image export bench >/dev/null
  "${g[@]}" channel set gold bench >/dev/null
  local enroll=()
  "$goldroot" lab add --help 2>&1 | grep -q -- --enroll && enroll=(--enroll first-use)
  "${g[@]}" lab add lab1 "${enroll[@]}" >/dev/null
  "${g[@]}" host add pc01 --mac "$mac" --lab lab1 >/dev/null
  mkdir -p "$dir/site/layers/labs/lab1/etc" "$dir/site/layers/base/etc"
  echo "{{ hostname }}" >"$dir/site/layers/labs/lab1/etc/hostname.tmpl"
  echo "welcome to {{ hostname }}" >"$dir/site/layers/base/etc/motd.tmpl"
  host_key[$version]=""
  "${bin[$version]}/goldroot-boot" --help 2>&1 | grep -q -- --host-key && host_key[$version]=$dir/host.key
  local port; port=$(free_port)
  url[$version]=http://127.0.0.1:$port
  GOLDROOT_SITE="$dir/site" TMPDIR="$dir/tmp" "$goldroot" serve --listen "127.0.0.1:$port" \
    >"$dir/serve.log" 2>&1 &
  servers+=($!)
  for _ in $(seq 1 300); do curl -s -o /dev/null "${url[$version]}/" && return 0; sleep 0.1; done
  echo "identity_bench: the $version server does not answer: $(cat "$dir/serve.log")" >&2
  exit 1
}

# boot VERSION ROUND: one boot in a private mount namespace; appends its
# timings (ms) to the version's lists (round 0, the first boot, to `first`).
declare -A manifest_ms layer_ms sum_ms total_ms wall_ms first
boot() {
  local version=$1 round=$2
  local run=$work/$version/run-$round
  local key=()
  [ -n "${host_key[$version]}" ] && key=(--host-key "${host_key[$version]}")
  local start; start=$(now_us)
  unshare -m --propagation private "${bin[$version]}/goldroot-boot" \
    --cmdline "boot=goldroot goldroot.server=${url[$version]} goldroot.mac=$mac goldroot.host=pc01 goldroot.mode=normal" \
    --site-key "${site[$version]}/keys/site.pub" "${key[@]}" \
    --root "$run.root" --run-dir "$run" 2>"$run.err" ||
    { echo "identity_bench: $version boot $round failed: $(cat "$run.err")" >&2; exit 1; }
  local wall=$(( $(now_us) - start ))
  local timings manifest layer total
  timings=$(python3 -c '
import json, sys
record = json.load(open(sys.argv[1]))
assert record["mode"] == "normal" and record["layer"]["source"] == "server", record
t = record["timings_ms"]
print(t["manifest"], t["layer"], t["total"])' "$run/boot.json") ||
    { echo "identity_bench: $version boot $round: unexpected boot.json" >&2; exit 1; }
  read -r manifest layer total <<<"$timings"
  rm -rf "$run" "$run.root" "$run.err"
  [ "$round" = 0 ] && { first[$version]="$manifest $layer $total $wall"; return 0; }
  manifest_ms[$version]+=" $manifest"
  layer_ms[$version]+=" $layer"
  sum_ms[$version]+=" $((manifest + layer))"
  total_ms[$version]+=" $total"
  wall_ms[$version]+=" $(printf '%d.%03d' $((wall / 1000)) $((wall % 1000)))"
}

minimum() { printf '%s\n' "$@" | sort -n | head -1; }
mean() { printf '%s\n' "$@" | awk '{s += $1} END {printf "%.2f", s / NR}'; }

echo "identity_bench: load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs at the start"
for version in before after; do site_up $version; done
for version in before after; do boot $version 0; done
for version in before after; do
  [ -n "${host_key[$version]}" ] || continue
  GOLDROOT_SITE="${site[$version]}" "${bin[$version]}/goldroot" host keys --json | python3 -c '
import json, sys
h = [h for h in json.load(sys.stdin) if h["host"] == "pc01"][0]
assert h["state"] == "enrolled", h' ||
    { echo "identity_bench: the $version first boot did not enroll pc01's key" >&2; exit 1; }
done
for round in $(seq 1 "$rounds"); do
  if ((round % 2)); then order="before after"; else order="after before"; fi
  for version in $order; do boot $version "$round"; done
done

# The server alone: REQUESTS manifest fetches per version, alternating.
declare -A challenge_s request_s
fetch_manifest() {  # VERSION → seconds of the challenge ("-" if none) and of the manifest GET
  local version=$1 base=${url[$1]} path=/api/v1/boot/$mac
  local headers=() challenge_time=- out
  if [ -n "${host_key[$version]}" ]; then
    out=$(curl -s -o "$work/challenge" -w '%{http_code} %{time_total}' "$base/api/v1/challenge")
    [ "${out%% *}" = 200 ] || { echo "identity_bench: challenge: $out" >&2; exit 1; }
    challenge_time=${out#* }
    local challenge
    challenge=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["challenge"])' "$work/challenge")
    printf 'goldroot-host-request-v1\nGET\n%s\n%s' "$path" "$challenge" >"$work/statement"
    headers=(-H "X-Goldroot-Challenge: $challenge"
      -H "X-Goldroot-Host-Signature: ed25519=$(openssl pkeyutl -sign -rawin -inkey "${host_key[$version]}" -in "$work/statement" | base64 -w0)"
      -H "X-Goldroot-Host-Key: $(openssl pkey -in "${host_key[$version]}" -pubout -outform DER | tail -c 32 | base64 -w0)")
  fi
  out=$(curl -s -o "$work/manifest" -w '%{http_code} %{time_total}' "${headers[@]}" "$base$path")
  [ "${out%% *}" = 200 ] || { echo "identity_bench: $version manifest: $out $(head -c 300 "$work/manifest")" >&2; exit 1; }
  challenge_s[$version]+=" $challenge_time"
  request_s[$version]+=" ${out#* }"
}
to_ms() { awk '{for (i = 1; i <= NF; i++) printf "%.3f ", $i * 1000}' <<<"$1"; }
if [ "$requests" -gt 0 ]; then
  for i in $(seq 1 "$requests"); do
    if ((i % 2)); then order="before after"; else order="after before"; fi
    for version in $order; do fetch_manifest $version; done
  done
fi

# --- the table --------------------------------------------------------------
image_bytes=$(find "${site[after]}" -name '*.erofs' -size +1k -printf '%s\n' | head -1)
echo "identity_bench: goldroot-boot against goldroot serve on 127.0.0.1; $rounds rounds per version" \
  "(alternating) after one uncounted first boot; image $((image_bytes / 1024)) KiB erofs"
for version in before after; do
  identity="no host key"
  [ -n "${host_key[$version]}" ] && identity="host key kept across rounds, enrolled by first use on the first boot"
  printf '  %-7s %s (%s)\n' "$version:" "${bin[$version]}" "$identity"
done
for version in before after; do
  read -r m l t w <<<"${first[$version]}"
  printf '  first boot, %-7s manifest %s ms, layer %s ms, total %s ms, wall %d ms\n' \
    "$version:" "$m" "$l" "$t" $((w / 1000))
done
echo
printf '%-24s %26s   %26s\n' "ms per boot" "---------- before ---------" "---------- after ----------"
printf '%-24s %8s %8s %8s   %8s %8s %8s\n' "" median min mean median min mean
row() {  # LABEL LIST_NAME
  local -n list=$2
  local b=(${list[before]}) a=(${list[after]})
  printf '%-24s %8s %8s %8s   %8s %8s %8s\n' "$1" \
    "$(median "${b[@]}")" "$(minimum "${b[@]}")" "$(mean "${b[@]}")" \
    "$(median "${a[@]}")" "$(minimum "${a[@]}")" "$(mean "${a[@]}")"
}
row manifest manifest_ms
row layer layer_ms
row "manifest+layer" sum_ms
row total total_ms
row "process wall (outside)" wall_ms
sum_before=$(median ${sum_ms[before]}) sum_after=$(median ${sum_ms[after]})
printf 'identity per boot, manifest+layer medians after - before: %+d ms (means: %+.2f ms)\n' \
  $((sum_after - sum_before)) "$(echo "$(mean ${sum_ms[after]}) - $(mean ${sum_ms[before]})" | bc -l)"
if [ "$sum_before" -gt 0 ]; then
  printf 'ratio after/before, manifest+layer medians: %.2f\n' "$(echo "$sum_after / $sum_before" | bc -l)"
else
  printf 'ratio after/before, manifest+layer medians: n/a (before rounds to 0 ms); means: %.2f\n' \
    "$(echo "$(mean ${sum_ms[after]}) / $(mean ${sum_ms[before]})" | bc -l)"
fi
if [ "$requests" -gt 0 ]; then
  echo
  echo "server alone, $requests manifest fetches per version (alternating), ms from curl:"
  describe() {  # LABEL MS…
    local label=$1; shift
    printf '  %-42s median %7s  min %7s  mean %7s\n' "$label" "$(median "$@")" "$(minimum "$@")" "$(mean "$@")"
  }
  declare -A fetch_median
  for version in before after; do
    request=($(to_ms "${request_s[$version]}"))
    if [ -n "${host_key[$version]}" ]; then
      challenge=($(to_ms "${challenge_s[$version]}"))
      both=($(paste -d' ' <(printf '%s\n' "${challenge[@]}") <(printf '%s\n' "${request[@]}") |
        awk '{printf "%.3f ", $1 + $2}'))
      describe "$(printf "%-7s" "$version:") challenge GET" "${challenge[@]}"
      describe "$(printf "%-7s" "$version:") signed manifest GET" "${request[@]}"
      describe "$(printf "%-7s" "$version:") challenge + signed manifest GET" "${both[@]}"
      fetch_median[$version]=$(median "${both[@]}")
    else
      describe "$(printf "%-7s" "$version:") manifest GET (unsigned)" "${request[@]}"
      fetch_median[$version]=$(median "${request[@]}")
    fi
  done
  printf '  after - before (medians): %+.3f ms; ratio after/before: %.2f\n' \
    "$(echo "${fetch_median[after]} - ${fetch_median[before]}" | bc -l)" \
    "$(echo "${fetch_median[after]} / ${fetch_median[before]}" | bc -l)"
fi
echo "identity_bench: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"

#!/usr/bin/env bash
# TLS against plain HTTP on the same goldroot server, in one run, with curl
# over loopback: 200 small GETs on one kept-alive connection, 200 small GETs
# each on a new connection (the handshake's cost), and one large file.
# Every number is the median of ROUNDS runs; prints TLS/plain ratios and the
# handshake time curl measured (time_appconnect - time_connect).
#
# Usage: bench/tls_bench.sh [GOLDROOT_BINARY]
# Environment: SIZE_MB (200), ROUNDS (5), THREADS (CPU count).
set -euo pipefail

source_dir="$(cd "$(dirname "$0")/.." && pwd)"
goldroot="${1:-${GOLDROOT:-$source_dir/build/bin/goldroot}}"
size_mb="${SIZE_MB:-200}"
rounds="${ROUNDS:-5}"
threads="${THREADS:-$(nproc)}"
for tool in curl openssl python3; do
  command -v "$tool" >/dev/null || { echo "tls_bench: needs $tool (scripts/setup.sh)"; exit 77; }
done
[[ -x "$goldroot" ]] || { echo "tls_bench: no goldroot binary at $goldroot"; exit 1; }

work="$(mktemp -d /tmp/goldroot-tls-bench.XXXXXX)"
server=
cleanup() {
  [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/www"
head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$work/www/large"
echo "a small answer" >"$work/www/small"
expected=$(openssl dgst -sha256 -r <"$work/www/large" | cut -d' ' -f1)
cat "$work/www/large" >/dev/null  # from the page cache, both ways

source "$(dirname "$0")/lib/bench.sh"  # free_port
port=$(free_port)
tls_port=$(free_port)
"$goldroot" serve-files "$work/www" --listen "127.0.0.1:$port" --tls-listen "127.0.0.1:$tls_port" \
  --tls-keys "$work/keys" --threads "$threads" >/dev/null &
server=$!
for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$port/small" && break; sleep 0.1; done
pin="sha256//$(openssl x509 -in "$work/keys/tls.crt" -pubkey -noout |
  openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"
plain="http://127.0.0.1:$port"
tls="https://127.0.0.1:$tls_port"
get() { curl -s -k --pinnedpubkey "$pin" "$@"; }  # the pin is ignored for http://

# seconds WHAT…: wall time of a command.
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
keepalive() {  # 200 GETs, one connection
  local urls=() i
  for i in $(seq 200); do urls+=(-o /dev/null "$1/small"); done
  get "${urls[@]}"
}
reconnect() {  # 200 GETs, each on a new connection (the server closes after each)
  local urls=() i
  for i in $(seq 200); do urls+=(-o /dev/null "$1/small"); done
  get -H "Connection: close" "${urls[@]}"
}
large() { get -o /dev/null "$1/large"; }
handshake_ms() {  # curl's view of one TLS handshake on loopback
  get -o /dev/null -w '%{time_connect} %{time_appconnect}\n' "$tls/small" |
    awk '{ printf "%.3f\n", ($2 - $1) * 1000 }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Once, outside the timings: both ways deliver the file intact.
for base in "$plain" "$tls"; do
  [[ "$(get "$base/large" | openssl dgst -sha256 -r | cut -d' ' -f1)" == "$expected" ]] ||
    { echo "tls_bench: corrupt transfer from $base"; exit 1; }
done
for test in keepalive reconnect large; do
  for scheme in plain tls; do
    for _ in $(seq "$rounds"); do seconds "$test" "${!scheme}"; done | median >"$work/$test.$scheme"
  done
done
for _ in $(seq 20); do handshake_ms; done | median >"$work/handshake"

echo "tls_bench: goldroot serve-files, $threads threads, $(nproc) CPUs, median of $rounds runs" \
  "(handshake: of 20)"
printf '%-42s %10s %10s %8s\n' test "plain s" "TLS s" "TLS/plain"
row() {
  printf '%-42s %10.3f %10.3f %8.2f\n' "$1" "$(cat "$work/$2.plain")" "$(cat "$work/$2.tls")" \
    "$(echo "$(cat "$work/$2.tls") / $(cat "$work/$2.plain")" | bc -l)"
}
row "200 small GETs, one connection" keepalive
row "200 small GETs, a connection each" reconnect
row "one $size_mb MiB GET" large
printf 'per connection, TLS costs %.2f ms more (curl: handshake %s ms)\n' \
  "$(echo "($(cat "$work/reconnect.tls") - $(cat "$work/reconnect.plain")) * 1000 / 200" | bc -l)" \
  "$(cat "$work/handshake")"
printf '%s MiB: plain %.0f MB/s, TLS %.0f MB/s\n' "$size_mb" \
  "$(echo "$size_mb * 1.048576 / $(cat "$work/large.plain")" | bc -l)" \
  "$(echo "$size_mb * 1.048576 / $(cat "$work/large.tls")" | bc -l)"

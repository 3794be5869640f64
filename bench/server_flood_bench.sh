#!/usr/bin/env bash
# Connection-flood benchmark: how much boot service a lab PC still gets
# while another machine floods the server with idle connections. goldroot
# serve against nginx from Debian, in one run, on loopback:
#   - the victim (127.0.0.1) fetches /boot/<mac>.ipxe with wrk (keep-alive,
#     WRK_CONNECTIONS connections, DURATION seconds each) — from goldroot, the host's
#     iPXE script rendered per request on its blocking pool; from nginx, a
#     static file of the same bytes, as if an admin served pre-made scripts;
#   - first alone, then while the attacker (127.0.0.2) holds IDLE idle
#     connections (tests/server_limits.py hold). goldroot allows one address
#     256 connections and closes a connection without a head after 5 s, so
#     the victim's window is kept inside those 5 s; nginx (worker_connections
#     16384, client_header_timeout 60 s) holds them all;
#   - the cost of /layers/<host>.tar with a 4 MB file, from the client: cold
#     (a layer file changed, the bundle is written) and warm (cached, sent
#     with sendfile), and nginx sending the same tar as a static file.
# Prints requests/s per server with and without the flood, the ratio
# goldroot/nginx, and how many attacker connections each held.
#
# Usage: bench/server_flood_bench.sh [GOLDROOT_BINARY]
# Environment: IDLE (5000), DURATION (3 s per wrk run), WRK_CONNECTIONS (16), THREADS (CPU
# count, both servers). Needs root (RLIMIT_NOFILE, source addresses), nginx, wrk.
set -euo pipefail

source_dir="$(cd "$(dirname "$0")/.." && pwd)"
goldroot="${1:-${GOLDROOT:-$source_dir/build/bin/goldroot}}"
idle="${IDLE:-5000}"
seconds="${DURATION:-3}"
wrk_connections="${WRK_CONNECTIONS:-16}"
threads="${THREADS:-$(nproc)}"
python=/usr/bin/python3
helper="$source_dir/tests/server_limits.py"

[ "$(id -u)" = 0 ] || { echo "server_flood_bench: needs root (RLIMIT_NOFILE for $idle sockets)"; exit 77; }
for tool in nginx wrk curl; do
  command -v "$tool" >/dev/null || { echo "server_flood_bench: needs $tool (apt-get install -y $tool)"; exit 77; }
done
[[ -x "$goldroot" ]] || { echo "server_flood_bench: no goldroot binary at $goldroot"; exit 1; }

work="$(mktemp -d /tmp/goldroot-flood-bench.XXXXXX)"
chmod 755 "$work"  # nginx workers run as nobody
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

source "$source_dir/bench/lib/bench.sh"  # free_port
wait_for() {  # URL
  for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "server_flood_bench: nothing answers $1"; exit 1
}
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# --- a site: one host, a layer with a 4 MB file ---------------------------------
export GOLDROOT_SITE="$work/site"
mac=52:54:00:aa:00:01
"$goldroot" init >/dev/null
"$goldroot" host add pc01 --mac "$mac" >/dev/null
openssl genpkey -algorithm ed25519 -out "$work/pc01.key" 2>/dev/null
openssl pkey -in "$work/pc01.key" -pubout -out "$work/pc01.pub"
"$goldroot" host enroll pc01 --key "$work/pc01.pub" >/dev/null
mkdir -p "$GOLDROOT_SITE/layers/base/opt" "$GOLDROOT_SITE/layers/base/etc" "$work/tmp"
head -c 4000000 /dev/urandom >"$GOLDROOT_SITE/layers/base/opt/big.bin"
echo "welcome" >"$GOLDROOT_SITE/layers/base/etc/motd"

goldroot_port=$(free_port)
TMPDIR="$work/tmp" "$goldroot" serve --listen "127.0.0.1:$goldroot_port" --threads "$threads" \
  >"$work/goldroot.log" 2>&1 &
pids+=($!)
goldroot_url="http://127.0.0.1:$goldroot_port"
wait_for "$goldroot_url/boot/$mac.ipxe"

# --- layers: cold (written) and warm (cached) -------------------------------------
# Before anything else touches the layer; each cold fetch follows a change
# of one small layer file, so the bundle is written again.
fetch_ms() {  # URL [curl args…] → milliseconds, checks 200 and the size
  local out
  out=$(curl -s -o "$work/fetched" -w '%{http_code} %{size_download} %{time_total}' "${@:2}" "$1")
  read -r code size total <<<"$out"
  [[ $code == 200 && $size -gt 4000000 ]] || { echo "server_flood_bench: $1: $out"; exit 1; }
  echo "$total * 1000" | bc -l
}
# A layer answers only its host: each fetch is signed with pc01's key over a
# fresh challenge, taken before the timed request.
signed() {  # → curl arguments that sign GET /layers/pc01.tar
  local challenge
  challenge=$(curl -s "$goldroot_url/api/v1/challenge" | python3 -c 'import json, sys; print(json.load(sys.stdin)["challenge"])')
  printf 'goldroot-host-request-v1\nGET\n/layers/pc01.tar\n%s' "$challenge" >"$work/statement"
  printf '%s\n' -H "X-Goldroot-Challenge: $challenge" -H \
    "X-Goldroot-Host-Signature: ed25519=$(openssl pkeyutl -sign -rawin -inkey "$work/pc01.key" -in "$work/statement" | base64 -w0)"
}
cold=() warm=() static=()
for i in 1 2 3 4 5; do
  echo "change $i" >"$GOLDROOT_SITE/layers/base/etc/serial"
  mapfile -t signature < <(signed)
  cold+=("$(fetch_ms "$goldroot_url/layers/pc01.tar" "${signature[@]}")")
done
for i in 1 2 3 4 5; do
  mapfile -t signature < <(signed)
  warm+=("$(fetch_ms "$goldroot_url/layers/pc01.tar" "${signature[@]}")")
done
bundles=$(find "$work"/tmp/goldroot-layers-* -name '*.tar' | wc -l)

# --- nginx: the same iPXE script and the same tar as static files ----------------
mkdir -p "$work/www/boot" "$work/www/layers" "$work/nginx"
curl -s -o "$work/www/boot/$mac.ipxe" "$goldroot_url/boot/$mac.ipxe"
cp "$work/fetched" "$work/www/layers/pc01.tar"
chmod -R a+rX "$work/www"
script_bytes=$(stat -c %s "$work/www/boot/$mac.ipxe")
nginx_port=$(free_port)
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes $threads;
worker_rlimit_nofile 65536;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
daemon off;
events { worker_connections 16384; }
http {
  access_log $work/nginx/access.log;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  types { }
  default_type text/plain;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids+=($!)
nginx_url="http://127.0.0.1:$nginx_port"
wait_for "$nginx_url/boot/$mac.ipxe"
curl -s -o /dev/null "$nginx_url/layers/pc01.tar"  # into the page cache
for i in 1 2 3 4 5; do static+=("$(fetch_ms "$nginx_url/layers/pc01.tar")"); done

# --- the victim's rate, alone and during the flood --------------------------------
# wrk_rate URL → "requests/s non-2xx", from wrk's summary.
wrk_rate() {
  local out
  out=$(wrk -t1 -c"$wrk_connections" -d"${seconds}s" --latency "$1")
  echo "$out" >>"$work/wrk.log"
  local rate errors
  rate=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses:/ { print $5 }' <<<"$out")
  local socket_errors
  socket_errors=$(awk -F'[ ,]+' '/Socket errors:/ { print $5 + $7 + $9 + $11 }' <<<"$out")
  local p50
  p50=$(awk '/^ +50%/ { print $2 }' <<<"$out")
  echo "$rate $(( ${errors:-0} + ${socket_errors:-0} )) $p50"
}
# flood URL PORT → "rate errors p50 held held_at_end": the attacker holds
# $idle idle connections from 127.0.0.2 while wrk runs.
flood() {
  local url=$1 port=$2 out="$work/hold.$2"
  "$python" "$helper" hold 127.0.0.1 "$port" --source 127.0.0.2 --connections "$idle" \
    --seconds "$(echo "$seconds + 1.5" | bc -l)" >"$out" &
  local holder=$!
  for _ in $(seq 200); do grep -q '^ready' "$out" 2>/dev/null && break; sleep 0.05; done
  grep -q '^ready' "$out" || { echo "server_flood_bench: the attacker did not get ready: $(cat "$out")"; exit 1; }
  local victim
  victim=$(wrk_rate "$url")
  wait "$holder"
  local held
  held=$(tail -1 "$out" | "$python" -c 'import json,sys; r=json.load(sys.stdin); print(r["held"], r["held_at_end"], r["open_seconds"])')
  echo "$victim $held"
}

echo "server_flood_bench: /boot/$mac.ipxe ($script_bytes bytes) to 127.0.0.1 with wrk" \
  "(1 thread, $wrk_connections connections, ${seconds} s), attacker 127.0.0.2 with $idle idle" \
  "connections; $threads server threads, $(nproc) CPUs"
read -r g_alone g_alone_errors g_alone_p50 <<<"$(wrk_rate "$goldroot_url/boot/$mac.ipxe")"
read -r n_alone n_alone_errors n_alone_p50 <<<"$(wrk_rate "$nginx_url/boot/$mac.ipxe")"
read -r n_flood n_flood_errors n_flood_p50 n_held n_held_end n_open <<<"$(flood "$nginx_url/boot/$mac.ipxe" "$nginx_port")"
read -r g_flood g_flood_errors g_flood_p50 g_held g_held_end g_open <<<"$(flood "$goldroot_url/boot/$mac.ipxe" "$goldroot_port")"

echo
printf '%-10s %12s %12s %10s %10s %14s %8s\n' server "alone req/s" "flood req/s" "p50 alone" "p50 flood" "attacker held" errors
printf '%-10s %12.0f %12.0f %10s %10s %7s of %-4s %8d\n' nginx "$n_alone" "$n_flood" "$n_alone_p50" "$n_flood_p50" \
  "$n_held" "$idle" "$((n_alone_errors + n_flood_errors))"
printf '%-10s %12.0f %12.0f %10s %10s %7s of %-4s %8d\n' goldroot "$g_alone" "$g_flood" "$g_alone_p50" "$g_flood_p50" \
  "$g_held" "$idle" "$((g_alone_errors + g_flood_errors))"
echo "  (attacker connections still held at the end of the victim's window: nginx $n_held_end, goldroot $g_held_end;" \
  "opened in $n_open s / $g_open s)"
printf 'ratio goldroot/nginx during the flood: %.2f (alone: %.2f)\n' \
  "$(echo "$g_flood / $n_flood" | bc -l)" "$(echo "$g_alone / $n_alone" | bc -l)"

echo
printf '/layers/pc01.tar (%d bytes, 4 MB file), ms from the client, median of 5:\n' "$(stat -c %s "$work/fetched")"
printf '  goldroot cold (layer changed, bundle written) %7.1f  [%s]\n' "$(median "${cold[@]}")" \
  "$(printf '%.1f ' "${cold[@]}")"
printf '  goldroot warm (cached, sendfile)              %7.1f  [%s]\n' "$(median "${warm[@]}")" \
  "$(printf '%.1f ' "${warm[@]}")"
printf '  nginx, the same tar as a static file          %7.1f  [%s]\n' "$(median "${static[@]}")" \
  "$(printf '%.1f ' "${static[@]}")"
printf '  cold/warm %.1fx; warm goldroot/nginx time %.2f; bundles in the cache: %d\n' \
  "$(echo "$(median "${cold[@]}") / $(median "${warm[@]}")" | bc -l)" \
  "$(echo "$(median "${warm[@]}") / $(median "${static[@]}")" | bc -l)" "$bundles"
if ((n_alone_errors + n_flood_errors + g_alone_errors + g_flood_errors > 0)); then
  echo "server_flood_bench: the victim got errors (see above)"
  exit 1
fi

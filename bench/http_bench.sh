#!/usr/bin/env bash
# HTTP serving benchmark: goldroot's server against nginx from Debian, in one
# run, on one file. Each round starts CLIENTS concurrent full downloads with
# curl over loopback against one server, hashes every body with SHA-256
# (openssl dgst, SHA-NI) and checks it, then does the same against the other
# server; rounds alternate the order. Prints aggregate MB/s per server,
# the ratio goldroot/nginx, and p50/p99 of per-client transfer time.
#
# Usage: bench/http_bench.sh [GOLDROOT_BINARY]
# Environment: CLIENTS (200), SIZE_MB (200, a random file) or BENCH_FILE (an
# existing artifact, e.g. an erofs image), ROUNDS (2), THREADS (CPU count,
# for both servers), NGINX_LISTEN_OPTIONS (e.g. " reuseport").
set -euo pipefail

source_dir="$(cd "$(dirname "$0")/.." && pwd)"
goldroot="${1:-${GOLDROOT:-$source_dir/build/bin/goldroot}}"
clients="${CLIENTS:-200}"
size_mb="${SIZE_MB:-200}"
rounds="${ROUNDS:-2}"
threads="${THREADS:-$(nproc)}"

for tool in nginx curl openssl; do
  command -v "$tool" >/dev/null || { echo "http_bench: needs $tool (scripts/setup.sh)"; exit 77; }
done
[[ -x "$goldroot" ]] || { echo "http_bench: no goldroot binary at $goldroot"; exit 1; }

work="$(mktemp -d /tmp/goldroot-http-bench.XXXXXX)"
chmod 755 "$work"  # nginx workers run as nobody
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/www" "$work/nginx" "$work/results"
if [[ -n "${BENCH_FILE:-}" ]]; then
  cp "$BENCH_FILE" "$work/www/image"
else
  head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$work/www/image"
fi
chmod 644 "$work/www/image"
file_size=$(stat -c %s "$work/www/image")
expected=$(openssl dgst -sha256 -r <"$work/www/image" | cut -d' ' -f1)
cat "$work/www/image" >/dev/null  # both servers read from the page cache

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_for_port() {
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$1/image" -r 0-0 && return 0
    sleep 0.1
  done
  echo "http_bench: nothing listening on $1"; exit 1
}

# nginx as a lab admin would run it for large files: sendfile, tcp_nopush,
# one worker per CPU, an access log.
nginx_port=$(free_port)
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes $threads;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
daemon off;
events { worker_connections 4096; }
http {
  access_log $work/nginx/access.log;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  types { }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$nginx_port${NGINX_LISTEN_OPTIONS:-};
    root $work/www;
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
pids+=($nginx_pid)

goldroot_port=$(free_port)
"$goldroot" serve-files "$work/www" --listen "127.0.0.1:$goldroot_port" --threads "$threads" \
  --access-log "$work/goldroot-access.log" >/dev/null &
goldroot_pid=$!
pids+=($goldroot_pid)
wait_for_port "$nginx_port"
wait_for_port "$goldroot_port"

# CPU seconds (user + system) used so far by a server process and its
# threads, or by nginx's master and workers.
server_cpu() {
  local pid total=0
  for pid in "$@"; do
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
  done
  echo "$total / $(getconf CLK_TCK)" | bc -l
}
nginx_pids() { echo "$nginx_pid" $(pgrep -P "$nginx_pid"); }

# run_round NAME PORT: CLIENTS downloads at once; appends "seconds bytes" to
# NAME.total and each client's time to NAME.times; counts failures.
run_round() {
  local name=$1 port=$2 dir="$work/results/$1.$3"
  mkdir -p "$dir"
  local start end cpu_before cpu_after
  if [[ $name == nginx ]]; then cpu_before=$(server_cpu $(nginx_pids)); else cpu_before=$(server_cpu "$goldroot_pid"); fi
  start=$(date +%s.%N)
  for i in $(seq "$clients"); do
    (
      curl -s --fail -w '%{stderr}%{time_total} %{size_download} %{http_code}\n' \
        "http://127.0.0.1:$port/image" 2>"$dir/$i.timing" |
        openssl dgst -sha256 -r | cut -d' ' -f1 >"$dir/$i.sha256"
    ) &
  done
  wait_clients
  end=$(date +%s.%N)
  if [[ $name == nginx ]]; then cpu_after=$(server_cpu $(nginx_pids)); else cpu_after=$(server_cpu "$goldroot_pid"); fi
  local failures=0
  for i in $(seq "$clients"); do
    read -r seconds bytes code <"$dir/$i.timing" || { failures=$((failures + 1)); continue; }
    if [[ "$code" != 200 || "$bytes" != "$file_size" || "$(cat "$dir/$i.sha256")" != "$expected" ]]; then
      failures=$((failures + 1))
    fi
    echo "$seconds" >>"$work/results/$name.times"
  done
  echo "$(echo "$end - $start" | bc -l) $((clients * file_size)) $failures" >>"$work/results/$name.total"
  printf '  round %s %-8s %6.1f s  %8.0f MB/s  server CPU %5.1f s  failures %d\n' "$3" "$name" \
    "$(echo "$end - $start" | bc -l)" \
    "$(echo "$clients * $file_size / ($end - $start) / 1000000" | bc -l)" \
    "$(echo "$cpu_after - $cpu_before" | bc -l)" "$failures"
}
# Waits for the curl pipelines only (the servers are background jobs too).
wait_clients() {
  local job
  for job in $(jobs -p); do
    [[ " ${pids[*]} " == *" $job "* ]] || wait "$job" || true
  done
}

echo "http_bench: $clients concurrent downloads of $((file_size / 1000000)) MB, $rounds rounds," \
  "$threads server threads, $(nproc) CPUs"
for round in $(seq "$rounds"); do
  if ((round % 2)); then
    run_round nginx "$nginx_port" "$round"
    run_round goldroot "$goldroot_port" "$round"
  else
    run_round goldroot "$goldroot_port" "$round"
    run_round nginx "$nginx_port" "$round"
  fi
done

summary() {  # NAME → "MB/s failures p50 p99"
  local name=$1
  awk '{ seconds += $1; bytes += $2; failures += $3 } END { printf "%.0f %d", bytes / seconds / 1e6, failures }' \
    "$work/results/$name.total"
  sort -n "$work/results/$name.times" | awk '{ t[NR] = $1 } END {
    p50 = t[int((NR - 1) * 0.50) + 1]; p99 = t[int((NR - 1) * 0.99) + 1]; printf " %.2f %.2f\n", p50, p99 }'
}
read -r nginx_rate nginx_failures nginx_p50 nginx_p99 <<<"$(summary nginx)"
read -r goldroot_rate goldroot_failures goldroot_p50 goldroot_p99 <<<"$(summary goldroot)"
echo
printf '%-10s %10s %9s %9s %9s\n' server "MB/s" failures "p50 s" "p99 s"
printf '%-10s %10s %9s %9s %9s\n' nginx "$nginx_rate" "$nginx_failures" "$nginx_p50" "$nginx_p99"
printf '%-10s %10s %9s %9s %9s\n' goldroot "$goldroot_rate" "$goldroot_failures" "$goldroot_p50" "$goldroot_p99"
printf 'ratio goldroot/nginx: %.2f (goal >= 1.0)\n' "$(echo "$goldroot_rate / $nginx_rate" | bc -l)"
if ((nginx_failures + goldroot_failures > 0)); then
  echo "http_bench: FAILED or corrupt transfers"
  exit 1
fi

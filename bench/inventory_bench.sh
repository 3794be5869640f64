#!/usr/bin/env bash
# Inventory engines side by side (issue #20): agent reports stored per second
# by SQLite (the embedded default) and by PostgreSQL (a throw-away local
# cluster, scripts/with_postgresql.sh), in one run:
#   1. report_store_bench: REPORTS reports through AgentStore::record, each
#      its own write transaction as `goldroot serve` stores it, with 1 and 4
#      writers (each its own connection, as several servers);
#   2. AGENTS goldroot-agent processes reporting every INTERVAL seconds for
#      DURATION seconds: to one `goldroot serve` on SQLite, then half to each of two
#      servers sharing PostgreSQL — reports stored per second and lost.
# Prints reports/s per engine and the ratio SQLite/PostgreSQL.
#
# Usage: bench/inventory_bench.sh [BUILD_DIR]
# Environment: REPORTS (4000), AGENTS (200), DURATION (60 s per agents run), INTERVAL (1).
# Needs root for the PostgreSQL cluster's own user (runs it as postgres).
set -euo pipefail

source_dir="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$source_dir/build}"
reports=${REPORTS:-4000}
agents=${AGENTS:-200}
seconds=${DURATION:-60}
interval=${INTERVAL:-1}
bench="$build/bin/report_store_bench"
for binary in "$bench" "$build/bin/goldroot" "$build/bin/goldroot-agent"; do
  [ -x "$binary" ] || { echo "inventory_bench: no $binary (ninja -C $build report_store_bench goldroot goldroot-agent)" >&2; exit 1; }
done

if [ -z "${GOLDROOT_TEST_DATABASE:-}" ]; then
  exec "$source_dir/scripts/with_postgresql.sh" "$0" "$@"
fi

export GOLDROOT="$build/bin/goldroot" GOLDROOT_AGENT="$build/bin/goldroot-agent"
work=$(mktemp -d "${TMPDIR:-/tmp}/goldroot-inventory-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT

# A fresh schema per run, so each starts empty (called in $(…): no counter).
fresh_postgresql() {
  local schema="bench_$$_$(date +%s%N)"
  psql -X -q "$GOLDROOT_TEST_DATABASE" -c "CREATE SCHEMA $schema" >/dev/null
  echo "$GOLDROOT_TEST_DATABASE?options=-csearch_path%3D$schema"
}
ratio() { echo "scale=2; $1 / $2" | bc; }

echo "== report_store_bench: $reports reports, each one write transaction"
printf '%-10s %14s %18s %8s\n' writers "SQLite r/s" "PostgreSQL r/s" ratio
for writers in 1 4; do
  # SQLite's writers wait for its lock at most 5 s (busy timeout): on a
  # loaded machine several may not get it, which the row says.
  sqlite=$("$bench" "$work/store-$writers.db" "$reports" "$writers" 2>"$work/sqlite.err") || sqlite=busy
  postgresql=$("$bench" "$(fresh_postgresql)" "$reports" "$writers")
  if [ "$sqlite" = busy ]; then rate_ratio=-; else rate_ratio=$(ratio "$sqlite" "$postgresql"); fi
  printf '%-10s %14s %18s %8s\n' "$writers" "$sqlite" "$postgresql" "$rate_ratio"
done

# agents_run NAME DATABASE SERVERS: AGENTS agents for SECONDS against SERVERS
# (1 or 2) servers of a new site on DATABASE (sqlite or a URL); prints
# "stored lost reports/s".
agents_run() {
  local name=$1 database=$2 servers=$3 dir="$work/$1"
  mkdir -p "$dir"
  (
    export GOLDROOT_SITE=$dir/site WORK=$dir
    if [ "$database" = sqlite ]; then "$GOLDROOT" init >/dev/null
    else "$GOLDROOT" init --database "$database" >/dev/null; fi
    "$GOLDROOT" lab add load >/dev/null
    local urls=() pids=() i port
    for i in $(seq 1 "$servers"); do
      port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.$i',0)); print(s.getsockname()[1])")
      "$GOLDROOT" serve --listen "127.0.0.$i:$port" >>"$dir/serve$i.log" 2>&1 &
      pids+=($!)
      urls+=("http://127.0.0.$i:$port")
    done
    trap 'kill ${pids[*]} 2>/dev/null; wait 2>/dev/null' EXIT
    for url in "${urls[@]}"; do
      for _ in $(seq 1 100); do curl -s -o /dev/null "$url/api/v1/channels" && break; sleep 0.1; done
    done
    for i in $(seq 1 "$agents"); do
      local host mac client
      host=$(printf 'pc%03d' "$i"); mac=$(printf '52:54:00:40:%02x:%02x' $((i / 256)) $((i % 256)))
      client="$dir/clients/$host"
      mkdir -p "$client/lower" "$client/upper" "$client/spool" "$client/dev"
      cat /proc/sys/kernel/random/uuid >"$client/boot_id"
      : >"$client/utmp"
      cat >"$client/boot.json" <<JSON
{"version": 1, "mode": "normal", "host": "$host", "mac": "$mac", "server": "${urls[$((i % servers))]}",
 "manifest": {"sha256": "$(printf '%064d' 7)"}, "commit": "$(printf '%064d' 1)",
 "lower": "$client/lower", "middle": "", "upper": {"kind": "tmpfs", "path": "$client/upper"}}
JSON
      (umask 077; openssl genpkey -algorithm ed25519 -out "$client/host.key" 2>/dev/null)
      openssl pkey -in "$client/host.key" -pubout -out "$client/host.key.pub"
      "$GOLDROOT" host add "$host" --mac "$mac" --lab load >/dev/null
      "$GOLDROOT" host enroll "$host" --key "$client/host.key.pub" >/dev/null
    done
    local agent_pids=()
    for client in "$dir"/clients/*; do
      "$GOLDROOT_AGENT" --boot-state "$client/boot.json" --key-file "$client/host.key" \
        --spool "$client/spool" --boot-id-file "$client/boot_id" --utmp "$client/utmp" \
        --dev "$client/dev" --ignore-file /nonexistent --interval "$interval" --verbose \
        2>"$client/agent.log" &
      agent_pids+=($!)
    done
    sleep "$seconds"
    kill -TERM "${agent_pids[@]}"
    wait "${agent_pids[@]}" 2>/dev/null || true
    local made stored
    made=$(cat "$dir"/clients/*/agent.log | grep -c "spooled report" || true)
    if [ "$database" = sqlite ]; then
      stored=$(sqlite3 "$dir/site/goldroot.db" "SELECT count(*) FROM agent_history")
    else
      stored=$(psql -X -At "$database" -c "SELECT count(*) FROM agent_history")
    fi
    echo "$stored $((made - stored)) $(echo "scale=1; $stored / $seconds" | bc)"
  )
}

echo
echo "== $agents agents, one report every ${interval}s each, for ${seconds}s"
read -r sqlite_stored sqlite_lost sqlite_rate < <(agents_run sqlite sqlite 1)
read -r pg_stored pg_lost pg_rate < <(agents_run postgresql "$(fresh_postgresql)" 2)
printf '%-34s %10s %6s %10s\n' "" stored lost "reports/s"
printf '%-34s %10s %6s %10s\n' "SQLite, one server" "$sqlite_stored" "$sqlite_lost" "$sqlite_rate"
printf '%-34s %10s %6s %10s\n' "PostgreSQL, two servers" "$pg_stored" "$pg_lost" "$pg_rate"
echo "ratio SQLite/PostgreSQL: $(ratio "$sqlite_rate" "$pg_rate")"

#!/usr/bin/env bash
# with_postgresql.sh CMD…: runs CMD beside a throw-away PostgreSQL cluster.
#
# The cluster lives in a temporary directory (initdb as the `postgres` user
# when run as root, else as the caller), listens on a unix socket there and
# on 127.0.0.1 at a free port, and holds one database, goldroot, owned by a
# role goldroot with a random password. CMD sees
#   GOLDROOT_TEST_DATABASE        postgresql://goldroot:PASSWORD@127.0.0.1:PORT/goldroot
#   GOLDROOT_TEST_DATABASE_ADMIN  the superuser over the socket (no password),
#                                 for psql in tests
# and its exit status is this script's. The cluster is stopped and removed
# whatever happens. Needs Debian's postgresql package (PostgreSQL 15 here;
# the newest /usr/lib/postgresql/*/bin is used).
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS…]" >&2
  exit 2
fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
# Missing: skip (77), unless every tier must run (scripts/test.sh as root).
missing() {
  if [ "${GOLDROOT_REQUIRE_ALL:-}" = 1 ]; then echo "FAIL: $1" >&2; exit 1; fi
  echo "SKIP: $1" >&2
  exit 77
}
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  missing "PostgreSQL's server is missing (apt-get install postgresql)"
fi

as_owner=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || missing "there is no postgres user to run the cluster as"
  as_owner=(runuser -u postgres --)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/goldroot-pg-XXXXXX")
chmod 0755 "$dir"
[ ${#as_owner[@]} -eq 0 ] || chown postgres: "$dir"
cluster=$dir/data
log=$dir/postgresql.log
stop_cluster() {
  if [ -f "$cluster/postmaster.pid" ]; then
    "${as_owner[@]}" "$bin/pg_ctl" -D "$cluster" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap stop_cluster EXIT
trap 'exit 130' INT TERM

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
superuser=$("${as_owner[@]}" id -un)

# C collation: text sorts as in SQLite, byte by byte.
"${as_owner[@]}" "$bin/initdb" -D "$cluster" -U "$superuser" --no-locale -E UTF8 \
  --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; echo "with_postgresql.sh: initdb failed" >&2; exit 1; }
"${as_owner[@]}" "$bin/pg_ctl" -D "$cluster" -l "$log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200" \
  start >/dev/null ||
  { cat "$log" >&2; echo "with_postgresql.sh: the cluster did not start" >&2; exit 1; }

psql_admin() { "${as_owner[@]}" "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U "$superuser" "$@"; }
psql_admin -d postgres -c "CREATE ROLE goldroot LOGIN PASSWORD '$password'" \
  -c "CREATE DATABASE goldroot OWNER goldroot"

export GOLDROOT_TEST_DATABASE="postgresql://goldroot:$password@127.0.0.1:$port/goldroot"
export GOLDROOT_TEST_DATABASE_ADMIN="postgresql:///goldroot?host=$dir&port=$port&user=$superuser"
export GOLDROOT_TEST_POSTGRESQL_BIN=$bin
status=0
"$@" || status=$?
exit "$status"

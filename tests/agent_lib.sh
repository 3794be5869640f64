# Helpers for the agent tests (sourced after lib.sh): fake clients — a
# lower and an upper directory, a boot record, a boot id and an enrolled
# host key — and
# a `goldroot serve` on loopback that can be stopped and started again.
: "${GOLDROOT_AGENT:?GOLDROOT_AGENT must point at goldroot-agent}"

# make_client NAME [MAC]: $WORK/clients/NAME with boot.json naming the server
# (and $CLIENT_COMMIT, $CLIENT_MODE as the commit and mode it booted).
make_client() {
  local name=$1 mac=${2:-52:54:00:00:00:01} dir="$WORK/clients/$1"
  mkdir -p "$dir/lower/etc" "$dir/upper/etc" "$dir/spool" "$dir/dev"
  echo "welcome" > "$dir/lower/etc/motd"
  echo "hello from $name" > "$dir/upper/etc/added"
  printf 'welcome\nedited on %s\n' "$name" > "$dir/upper/etc/motd"
  cat /proc/sys/kernel/random/uuid > "$dir/boot_id"
  : > "$dir/utmp"
  cat > "$dir/boot.json" <<JSON
{"version": 1, "mode": "${CLIENT_MODE:-normal}", "host": "$name", "mac": "$mac", "server": "$SERVER_URL",
 "manifest": {"sha256": "$(printf '%064d' 7)"}, "commit": "${CLIENT_COMMIT:-$(printf '%064d' 1)}",
 "lower": "$dir/lower", "middle": "", "upper": {"kind": "tmpfs", "path": "$dir/upper"}}
JSON
  make_host_key "$dir/host.key"
  gr host enroll "$name" --key "$dir/host.key.pub" >/dev/null
}

# sign_report KEY FILE: the X-Goldroot-Signature value of report FILE
# signed with KEY (crypto/host_signature.h).
sign_report() {
  local statement
  statement=$(mktemp)
  printf 'goldroot-host-report-v1\n' > "$statement"
  cat "$2" >> "$statement"
  printf 'ed25519=%s' "$(openssl pkeyutl -sign -rawin -inkey "$1" -in "$statement" | base64 -w0)"
  rm -f "$statement"
}

# agent_command NAME: AGENT_COMMAND=(goldroot-agent and its flags for client
# NAME), to start in the background with "${AGENT_COMMAND[@]}" … & so that
# $! is the agent itself.
agent_command() {
  local dir="$WORK/clients/$1"
  AGENT_COMMAND=("$GOLDROOT_AGENT" --boot-state "$dir/boot.json" --key-file "$dir/host.key"
    --spool "$dir/spool" --boot-id-file "$dir/boot_id" --utmp "$dir/utmp" --dev "$dir/dev"
    --ignore-file /nonexistent)
}
# agent NAME ARGS…: runs goldroot-agent for client NAME.
agent() {
  agent_command "$1"; shift
  "${AGENT_COMMAND[@]}" "$@"
}

# A port nothing listens on now (a random guess could clash with another test).
SERVER_PORT=$(free_port)
SERVER_URL="http://127.0.0.1:$SERVER_PORT"
server_pid=
start_server() {
  "$GOLDROOT" serve --listen "127.0.0.1:$SERVER_PORT" "$@" >> "$WORK/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "$SERVER_URL/api/v1/channels" && return 0; sleep 0.1; done
  fail "goldroot serve did not start: $(cat "$WORK/serve.log")"
}
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}
on_exit stop_server

# db SQL: one query against the site's inventory, rows as lines.
db() {
  python3 -c 'import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print("|".join(map(str, row)))' \
    "$GOLDROOT_SITE/goldroot.db" "$1"
}

# write_utmp FILE [USER LINE]…: a utmp file with those sessions.
write_utmp() {
  python3 - "$@" <<'PY'
import struct, sys, time
path, pairs = sys.argv[1], sys.argv[2:]
with open(path, "wb") as out:
    for user, line in zip(pairs[::2], pairs[1::2]):
        record = bytearray(384)
        struct.pack_into("<hxxi32s4s32s256s", record, 0, 7, 1234, line.encode(), b"ts/0",
                         user.encode(), b"")
        struct.pack_into("<ii", record, 340, int(time.time()), 0)
        out.write(record)
PY
}


#!/usr/bin/env bash
# Two `goldroot serve` processes share one PostgreSQL inventory (issue #20):
# site A is made with `init --database URL`, site B is a copy of it, as a
# second server machine would hold (the same keys, the same database.url).
# Server A listens on 127.0.0.1, server B on 127.0.0.2. Checks that
#   - the URL is kept 0600 and no output or error shows its password;
#   - a host added through one site and a mode set through server A's admin
#     API are seen by server B and site B at once;
#   - GOLDROOT_TWO_SERVERS_AGENTS agents (default 100; half report to each
#     server) for GOLDROOT_TWO_SERVERS_SECONDS (default 60), every 2 seconds,
#     then a shutdown report each: every report stored in order, 0 lost;
#   - `goldroot status` says the same through both sites, and both servers'
#     /api/v1/status too;
#   - a malformed URL, a refused connection and a wrong password are each one
#     sentence, and leave no site behind that points at them.
# Runs itself under scripts/with_postgresql.sh when GOLDROOT_TEST_DATABASE is
# unset. Root tier: a PostgreSQL server and a hundred processes.
if [ -z "${GOLDROOT_TEST_DATABASE:-}" ]; then
  exec "${SOURCE_DIR:-$(dirname "$0")/..}/scripts/with_postgresql.sh" bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"
require_root
agents=${GOLDROOT_TWO_SERVERS_AGENTS:-100}
seconds=${GOLDROOT_TWO_SERVERS_SECONDS:-60}
url=$GOLDROOT_TEST_DATABASE
password=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).password)' "$url")
psql_admin() { psql -X -q -At -v ON_ERROR_STOP=1 "$GOLDROOT_TEST_DATABASE_ADMIN" "$@"; }
no_password() {  # FILE WHAT
  if grep -qF "$password" "$1"; then fail "$2 shows the database's password"; fi
}

# --- bad URLs: one sentence each, never the password ------------------------
port_free=$(free_port)
host_port=${url#*@}; host_port=${host_port%%/*}
expect_fail "a malformed URL" gr --site "$WORK/bad" init --database "${url}?no_such_option=1"
echo "$LAST_ERROR" | grep -q "not a PostgreSQL URL" || fail "malformed: $LAST_ERROR"
expect_fail "a refused connection" gr --site "$WORK/bad" init \
  --database "postgresql://goldroot:$password@127.0.0.1:$port_free/goldroot"
expect_fail "a wrong password" gr --site "$WORK/bad" init \
  --database "postgresql://goldroot:wrong-$password@$host_port/goldroot"
echo "$LAST_ERROR" | grep -q "password authentication failed" || fail "wrong password: $LAST_ERROR"
expect_fail "a SQLite path for --database" gr --site "$WORK/bad" init --database "$WORK/x.db"
[ ! -e "$WORK/bad/database.url" ] || fail "a failed init left a database.url"
gr --site "$WORK/bad" init --database "${url}?no_such_option=1" > "$WORK/bad.out" 2>&1 || true
no_password "$WORK/bad.out" "a malformed URL's error"

# --- one database, two sites, two servers -----------------------------------
export GOLDROOT_SITE=$WORK/siteA
gr init --database "$url" > "$WORK/init.out"
no_password "$WORK/init.out" "init"
[ "$(stat -c %a "$WORK/siteA/database.url")" = 600 ] || fail "database.url is not 0600"
gr site show > "$WORK/show.out"
no_password "$WORK/show.out" "site show"
grep -qx "database=postgresql://goldroot:\*\*\*@$host_port/goldroot" "$WORK/show.out" ||
  fail "site show: $(cat "$WORK/show.out")"
[ ! -e "$WORK/siteA/goldroot.db" ] || fail "a PostgreSQL site made a SQLite file"
expect_fail "a site does not change databases" gr init --database "${url}?application_name=x"
echo "$LAST_ERROR" | grep -q "does not move an inventory" || fail "another URL: $LAST_ERROR"
ok "init --database keeps the URL 0600 and shows it without its password"

gr lab add load > /dev/null
for i in $(seq 1 "$agents"); do
  gr host add "$(printf 'pc%03d' "$i")" --mac "$(printf '52:54:00:20:%02x:%02x' $((i / 256)) $((i % 256)))" \
    --lab load > /dev/null
done
url_a="http://127.0.0.1:$SERVER_PORT"
port_b=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.2", 0)); print(s.getsockname()[1])')
url_b="http://127.0.0.2:$port_b"
SERVER_URL=$url_a start_server
# After server A made the admin token: the second machine's copy has it too.
cp -a "$WORK/siteA" "$WORK/siteB"
siteB() { GOLDROOT_SITE=$WORK/siteB "$GOLDROOT" "$@"; }
GOLDROOT_SITE=$WORK/siteB "$GOLDROOT" serve --listen "127.0.0.2:$port_b" >> "$WORK/serveB.log" 2>&1 &
server_b=$!
on_exit 'kill $server_b 2>/dev/null; wait $server_b 2>/dev/null'
for _ in $(seq 1 100); do curl -s -o /dev/null "$url_b/api/v1/channels" && break; sleep 0.1; done
curl -s -o /dev/null "$url_b/api/v1/channels" || fail "server B did not start: $(cat "$WORK/serveB.log")"

admin=$(cat "$WORK/siteA/keys/admin.token")
api() {  # URL PATH [curl args…]
  local base=$1 path=$2; shift 2
  curl -s -H "Authorization: Bearer $admin" -H "Host: ${base#http://}" "$@" "$base$path"
}
gr host add late01 --mac 52:54:00:21:00:01 --lab load > /dev/null
api "$url_b" /api/v1/status > "$WORK/body"
python3 < "$WORK/body" -c 'import json, sys; assert isinstance(json.load(sys.stdin), list)' ||
  fail "server B's status: $(head -c 300 "$WORK/body")"
api "$url_b" /api/v1/status | python3 -c 'import json, sys
names = [h["name"] for h in json.load(sys.stdin)]
assert "late01" in names, names' || fail "server B does not see a host added through site A"
siteB host list > "$WORK/listB"
grep -q '^late01 ' "$WORK/listB" || fail "site B does not see a host added through site A"
code=$(api "$url_a" /api/v1/hosts/late01/mode -o "$WORK/body" -w '%{http_code}' -X POST \
  -H 'Content-Type: application/json' --data '{"mode":"reset"}')
[ "$code" = 200 ] || fail "setting a mode through server A: $code $(cat "$WORK/body")"
api "$url_b" /api/v1/status | python3 -c 'import json, sys
host = next(h for h in json.load(sys.stdin) if h["name"] == "late01")
assert host["mode"] == "reset" or host.get("next_mode") == "reset", host' ||
  fail "server B does not see the mode server A set"
siteB host rm late01 > /dev/null
ok "a host added through site A and a mode set through server A are seen by server B and site B"

# --- agents on both servers at once -----------------------------------------
for i in $(seq 1 "$agents"); do
  name=$(printf 'pc%03d' "$i")
  if (( i % 2 )); then SERVER_URL=$url_a; else SERVER_URL=$url_b; fi
  make_client "$name" "$(printf '52:54:00:20:%02x:%02x' $((i / 256)) $((i % 256)))"
done
ok "$agents simulated clients ready, half on each server"
pids=()
started=$(date +%s)
for i in $(seq 1 "$agents"); do
  name=$(printf 'pc%03d' "$i")
  agent_command "$name"
  "${AGENT_COMMAND[@]}" --interval 2 --verbose 2> "$WORK/clients/$name/agent.log" &
  pids+=($!)
done
on_exit 'kill ${pids[*]} 2>/dev/null'
sleep "$seconds"
kill -TERM "${pids[@]}"
for pid in "${pids[@]}"; do wait "$pid" || fail "an agent exited with an error"; done
elapsed=$(( $(date +%s) - started ))

psql_admin -F '|' -c "SELECT hosts.name, h.boot_id, h.sequence FROM agent_history h
  JOIN hosts ON hosts.id = h.host_id ORDER BY h.id" > "$WORK/stored"
shutdowns=$(psql_admin -c "SELECT count(*) FROM agent_status WHERE (report::json)->>'event' = 'shutdown'")
grep -h "serving\|report" "$WORK/serve.log" "$WORK/serveB.log" > /dev/null || true
python3 - "$WORK" "$agents" "$elapsed" "$shutdowns" "$seconds" <<'PY' || fail "lost reports"
import collections, glob, os, re, sys
work, agents, elapsed, shutdowns, seconds = sys.argv[1], *map(int, sys.argv[2:6])
stored = collections.defaultdict(list)
for line in open(work + "/stored"):
    name, boot, sequence = line.rstrip("\n").split("|")
    stored[(name, boot)].append(int(sequence))
made_total = stored_total = lost = spooled = 0
per_server = [0, 0]
for client in sorted(glob.glob(work + "/clients/pc*")):
    name = os.path.basename(client)
    made = [int(s) for s in re.findall(r"spooled report (\d+)", open(client + "/agent.log").read())]
    boot = open(client + "/boot_id").read().strip()
    got = stored[(name, boot)]
    spooled += len(os.listdir(client + "/spool"))
    made_total += len(made)
    stored_total += len(got)
    per_server[int(name[2:]) % 2] += len(got)
    if got != made:
        lost += len(set(made) - set(got))
        print(f"{name}: made {len(made)} stored {len(got)}")
print(f"agents {agents} on two servers, {elapsed} s: reports made {made_total}, stored "
      f"{stored_total} (server A {per_server[1]}, server B {per_server[0]}), lost {lost}, "
      f"left in spools {spooled}, shutdown reports {shutdowns}, "
      f"{stored_total / max(elapsed, 1):.1f} reports/s")
assert lost == 0 and made_total == stored_total and spooled == 0 and shutdowns == agents
assert per_server[0] > 0 and per_server[1] > 0
# Every agent kept reporting while all ran (starting 100 takes a while).
assert made_total >= agents * (seconds // 3)
PY
ok "$agents agents on two servers for ${seconds}s: no report lost"

# --- one answer through both ------------------------------------------------
gr status > "$WORK/statusA"
siteB status > "$WORK/statusB"
cmp -s <(cut -c1-100 "$WORK/statusA") <(cut -c1-100 "$WORK/statusB") ||
  fail "status differs: $(diff <(cut -c1-100 "$WORK/statusA") <(cut -c1-100 "$WORK/statusB"))"
[ "$(grep -c ' down ' "$WORK/statusA")" = "$agents" ] || fail "status: $(head "$WORK/statusA")"
api "$url_a" /api/v1/status > "$WORK/apiA"
api "$url_b" /api/v1/status > "$WORK/apiB"
python3 - "$WORK/apiA" "$WORK/apiB" <<'PY' || fail "the servers' /api/v1/status differ"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
strip = lambda hosts: [{k: v for k, v in h.items() if "seen" not in k} for h in hosts]
assert strip(a) == strip(b)
PY
ok "goldroot status and /api/v1/status say the same through both"
finish

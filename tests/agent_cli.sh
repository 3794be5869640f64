#!/usr/bin/env bash
# goldroot-agent against a real `goldroot serve` on loopback: reports are
# stored and shown by `goldroot status` and `goldroot changes --host`; the
# server refuses unsigned, wrongly signed, other-host and replayed reports;
# a server outage loses no report; `reset --dirty` and reboot-when-idle
# respect logged-in users; content diffs on demand; the admin token; the
# host keys that sign reports, and layers only for their host.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"

gr init >/dev/null
gr lab add lab3 >/dev/null
gr host add pc01 --mac 52:54:00:aa:00:01 --ip 10.9.0.11 --lab lab3 >/dev/null
gr host add pc02 --mac 52:54:00:aa:00:02 --lab lab3 >/dev/null
gr host add pc03 --mac 52:54:00:aa:00:03 >/dev/null
make_client pc01 52:54:00:aa:00:01
make_client pc02 52:54:00:aa:00:02
start_server

# --- one report, and what status and changes make of it -----------------
agent pc01 --once || fail "agent --once: $(cat "$WORK/serve.log")"
[ -z "$(ls "$WORK/clients/pc01/spool")" ] || fail "an acknowledged report stayed spooled"
gr status --json > "$WORK/status.json"
python3 - "$WORK/status.json" <<'PY' || fail "status --json: $(cat "$WORK/status.json")"
import json, sys
hosts = {h["name"]: h for h in json.load(open(sys.argv[1]))}
assert list(hosts) == ["pc01", "pc02", "pc03"], list(hosts)
pc01 = hosts["pc01"]
for key in ("name", "lab", "state", "commit", "mode", "dirty", "changes", "last_seen"):
    assert key in pc01, key
assert pc01["state"] == "up" and pc01["lab"] == "lab3" and pc01["mode"] == "normal", pc01
assert pc01["dirty"] is True and pc01["changes"] == 2, pc01
assert pc01["commit"] == "0" * 63 + "1" and pc01["last_seen"].endswith("Z"), pc01
assert pc01["upper"]["kind"] == "tmpfs" and pc01["upper"]["total_bytes"] > 0, pc01
assert hosts["pc02"]["state"] == "down" and hosts["pc02"]["dirty"] is None, hosts["pc02"]
assert hosts["pc03"]["lab"] is None
PY
ok "status --json: pc01 up, dirty with 2 changes; pc02 never reported, so down"

gr status > "$WORK/status.txt"
head -1 "$WORK/status.txt" | grep -q "^HOST *LAB *STATE *IMAGE *MODE *ROOT *CHANGES *LAST SEEN" ||
  fail "status header: $(cat "$WORK/status.txt")"
# No goldroot-blockd on this client: its image is a downloaded copy.
grep -Eq "^pc01 +lab3 +up +000000000000 +normal +copy +dirty 2 +[0-9]+s ago" "$WORK/status.txt" ||
  fail "status line of pc01: $(cat "$WORK/status.txt")"
grep -Eq "^pc02 +lab3 +down +- +- +- +- +never" "$WORK/status.txt" || fail "status pc02: $(cat "$WORK/status.txt")"
# With goldroot-blockd: where its root comes from, and the bytes fetched
# versus copied from the previous image (seeded).
cat > "$WORK/blockd.json" <<'JSON'
{"image":"ab","root_hash":"cd","blocks":1000,"present":430,"fill_percent":43.0,"backing":"network",
 "fetched_bytes":1761280,"reused_bytes":0,"seeded_bytes":4096000,"cache":"disk","verify_failures":0,
 "last_error":"","pid":1,"device":"/dev/dm-0"}
JSON
agent pc01 --once --blockd-status "$WORK/blockd.json" || fail "agent pc01 --once: $(cat "$WORK/serve.log")"
gr status --json > "$WORK/status.json"
python3 - "$WORK/status.json" <<'PY' || fail "status --json root of pc01: $(cat "$WORK/status.json")"
import json, sys
root = {h["name"]: h for h in json.load(open(sys.argv[1]))}["pc01"]["root"]
assert root["backing"] == "network" and root["fill_percent"] == 43, root
assert root["fetched_bytes"] == 1761280 and root["seeded_bytes"] == 4096000, root
PY
gr status | grep -Eq "^pc01 +lab3 +up +000000000000 +normal +network 43% +dirty 2" || fail "status pc01 on demand: $(gr status)"
[ "$(gr status --lab lab3 | wc -l)" = 3 ] || fail "status --lab"
expect_fail "status of an unknown lab" gr status --lab nope
ok "status prints one line per host"

gr changes --host pc01 > "$WORK/changes.txt"
grep -q "^pc01: dirty, 2 changes" "$WORK/changes.txt" || fail "changes --host: $(cat "$WORK/changes.txt")"
grep -Eq "^added +/etc/added$" "$WORK/changes.txt" || fail "changes --host added: $(cat "$WORK/changes.txt")"
grep -Eq "^modified +/etc/motd$" "$WORK/changes.txt" || fail "changes --host modified"
expect_fail "changes of a host that never reported" gr changes --host pc02
ok "changes --host prints the host's last reported change list"

# --- the API: admin token, status, changes --------------------------------
stop_server
start_server --admin-loopback-exempt yes
grep -q "warning: --admin-loopback-exempt yes" "$WORK/serve.log" || fail "no warning for the exemption"
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "$SERVER_URL/api/v1/status")" = 200 ] ||
  fail "loopback exempt on request"
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "$SERVER_URL/api/v1/hosts/pc01/changes")" = 200 ] ||
  fail "GET /api/v1/hosts/pc01/changes"
grep -q '"/etc/added"' "$WORK/body" || fail "changes API body"
stop_server
start_server
admin=$(cat "$GOLDROOT_SITE/keys/admin.token")
[ "$(stat -c %a "$GOLDROOT_SITE/keys/admin.token")" = 600 ] || fail "admin.token mode"
for path in status hosts images channels hosts/pc01/changes; do
  [ "$(curl -s -o "$WORK/body" -w '%{http_code}' "$SERVER_URL/api/v1/$path")" = 401 ] ||
    fail "/api/v1/$path without the admin token"
  [ "$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer wrong" "$SERVER_URL/api/v1/$path")" = 403 ] ||
    fail "/api/v1/$path with a wrong admin token"
  [ "$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $admin" "$SERVER_URL/api/v1/$path")" = 200 ] ||
    fail "/api/v1/$path with the admin token: $(cat "$WORK/body")"
done
grep -q error "$WORK/body" && fail "error body on success"
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "$SERVER_URL/api/v1/boot/52:54:00:aa:00:01")" = 401 ] ||
  fail "an unsigned manifest request: $(cat "$WORK/body")"
grep -q "sign the request with the host's key" "$WORK/body" || fail "manifest 401 body: $(cat "$WORK/body")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$SERVER_URL/boot/52-54-00-aa-00-01.ipxe")" = 200 ] ||
  fail "the iPXE script must stay open"
ok "the listing API needs the admin token (loopback is exempt only on request); a manifest needs the host's key; iPXE scripts stay open"

# --- signature checks -----------------------------------------------------
report=$(python3 - <<PY
import json
print(json.dumps({"version": 1, "host": "pc02", "boot_id": "b-1", "sequence": 5,
                  "sent_at": $(date +%s), "event": "periodic"}))
PY
)
# sign CLIENT: the signature of $report by CLIENT's key.
sign() { printf '%s' "$report" > "$WORK/report.json"; sign_report "$WORK/clients/$1/host.key" "$WORK/report.json"; }
post() { curl -s -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/json' "$@" \
           --data-binary "$report" "$SERVER_URL/api/v1/reports"; }
[ "$(post)" = 401 ] || fail "unsigned report: $(cat "$WORK/body")"
grep -q "not signed" "$WORK/body" || fail "401 body: $(cat "$WORK/body")"
[ "$(post -H "X-Goldroot-Signature: $(sign pc01)")" = 403 ] ||
  fail "pc01's key claiming pc02: $(cat "$WORK/body")"
grep -q "not by the key enrolled for host pc02" "$WORK/body" || fail "403 body: $(cat "$WORK/body")"
[ "$(post -H "X-Goldroot-Signature: hmac-sha256=$(printf '%064d' 0)")" = 403 ] || fail "bad signature"
pc02_signature=$(sign pc02)
[ "$(post -H "X-Goldroot-Signature: $pc02_signature")" = 200 ] ||
  fail "pc02's own signed report: $(cat "$WORK/body")"
[ "$(post -H "X-Goldroot-Signature: $pc02_signature")" = 409 ] ||
  fail "a replayed report: $(cat "$WORK/body")"
grep -q "replay" "$WORK/body" || fail "409 body: $(cat "$WORK/body")"
report=${report/\"sequence\": 5/\"sequence\": 4}
[ "$(post -H "X-Goldroot-Signature: $(sign pc02)")" = 409 ] ||
  fail "an older sequence of the same boot: $(cat "$WORK/body")"
# A host's own signed report carrying terminal escapes (clear screen, cursor
# up, OSC 52 clipboard, the C1 CSI) reaches the admin's terminal escaped.
report=$(python3 - <<PY
import json
print(json.dumps({"version": 1, "host": "pc02", "boot_id": "b-2", "sequence": 1,
                  "sent_at": $(date +%s), "mode": "normal\x1b[2J\x1b]52;c;cm0gLXJm\x07",
                  "dirty": True, "changes": {"total": 1, "ignored": 0, "error": "e\x1b[1A",
                  "paths": [{"path": "/etc/x", "change": "added\u009b31m"}]}}))
PY
)
[ "$(post -H "X-Goldroot-Signature: $(sign pc02)")" = 200 ] ||
  fail "pc02's report with escapes: $(cat "$WORK/body")"
gr status > "$WORK/status.txt"
gr changes --host pc02 > "$WORK/changes.txt"
for output in status changes; do
  if LC_ALL=C grep -q $'[\x1b\x07]\|\xc2\x9b' "$WORK/$output.txt"; then
    fail "$output printed a host's control characters raw: $(cat -v "$WORK/$output.txt")"
  fi
done
grep -q 'normal\\x1b\[2J\\x1b\]52;c;' "$WORK/status.txt" || fail "status: $(cat "$WORK/status.txt")"
grep -q 'added\\xc2\\x9b31m' "$WORK/changes.txt" || fail "changes --host: $(cat "$WORK/changes.txt")"
grep -q 'e\\x1b\[1A' "$WORK/changes.txt" || fail "changes --host error: $(cat "$WORK/changes.txt")"
ok "a host's escape sequences reach status and changes --host as \\x1b, never raw"
echo '{"version": 1, "host": "pc01"' > "$WORK/clients/pc01/report.bad"
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' -H "X-Goldroot-Signature: x" --data-binary @"$WORK/clients/pc01/report.bad" "$SERVER_URL/api/v1/reports")" = 400 ] ||
  fail "malformed report"
head -c 2000000 /dev/zero | tr '\0' ' ' > "$WORK/big.json"
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' -H "X-Goldroot-Signature: x" --data-binary @"$WORK/big.json" "$SERVER_URL/api/v1/reports")" = 413 ] ||
  fail "a report over the 1 MiB body limit"
ok "reports: unsigned 401, another host's or a bad signature 403, replay 409, malformed 400, too large 413"

# --- a layer only for its host ---------------------------------------------
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "$SERVER_URL/layers/pc02.tar")" = 401 ] ||
  fail "an unsigned layer request: $(cat "$WORK/body")"
if [ "$(id -u)" = 0 ]; then
  [ "$(curl -s -o "$WORK/body" -w '%{http_code}' --local-port 900-1000 "$SERVER_URL/layers/pc02.tar")" = 401 ] ||
    fail "a layer request from a privileged port, unsigned: $(cat "$WORK/body")"
fi
ok "a host's layer needs its key: unsigned requests get 401, from any port"

# --- outage: reports are spooled and all arrive, in order -----------------
stop_server
start_server
agent_command pc01
"${AGENT_COMMAND[@]}" --interval 1 --jitter 0 --max-backoff 2 --verbose 2> "$WORK/agent.log" &
agent_pid=$!
on_exit "kill $agent_pid 2>/dev/null; wait $agent_pid 2>/dev/null"
sleep 3
stop_server
sleep 5
spooled=$(ls "$WORK/clients/pc01/spool" | wc -l)
[ "$spooled" -ge 3 ] || fail "expected reports spooled during the outage, found $spooled"
start_server
for _ in $(seq 1 100); do [ -z "$(ls "$WORK/clients/pc01/spool")" ] && break; sleep 0.1; done
sleep 1.5
kill -TERM "$agent_pid"; wait "$agent_pid" || fail "agent exit status on SIGTERM"
made=$(grep -o 'spooled report [0-9]*' "$WORK/agent.log" | awk '{print $3}')
boot=$(cat "$WORK/clients/pc01/boot_id")
stored=$(db "SELECT sequence FROM agent_history h JOIN hosts ON hosts.id = h.host_id WHERE name = 'pc01' AND boot_id = '$boot' AND sequence >= $(echo "$made" | head -1) ORDER BY h.id")
[ "$made" = "$stored" ] || fail "reports made and stored differ: made $(echo $made) stored $(echo $stored)"
[ "$(echo "$made" | sort -n | tr '\n' ' ')" = "$(echo "$made" | tr '\n' ' ')" ] || fail "order"
[ "$(echo "$made" | wc -l)" -ge 8 ] || fail "too few reports: $made"
grep -q "retrying with backoff" "$WORK/agent.log" || fail "agent did not say it retries"
[ "$(db "SELECT json_extract(report, '\$.event') FROM agent_status s JOIN hosts ON hosts.id = s.host_id WHERE name = 'pc01'")" = shutdown ] ||
  fail "the last report on SIGTERM is a shutdown report"
gr status --json | python3 -c 'import json,sys; h={x["name"]:x for x in json.load(sys.stdin)}; assert h["pc01"]["state"]=="down", h["pc01"]' ||
  fail "a host that shut down is down"
ok "server outage: $spooled reports spooled, all $(echo "$made" | wc -l) arrived in order; shutdown report makes it down"

# unseen: a host that reported with interval 1 and then fell silent
agent pc02 --once --interval 1 || fail "pc02 report"
sleep 9
gr status --json | python3 -c 'import json,sys; h={x["name"]:x for x in json.load(sys.stdin)}; assert h["pc02"]["state"]=="unseen", h["pc02"]' ||
  fail "silent host not unseen"
gr status --json --unseen-after 3600 | python3 -c 'import json,sys; h={x["name"]:x for x in json.load(sys.stdin)}; assert h["pc02"]["state"]=="up", h["pc02"]' ||
  fail "--unseen-after"
ok "a host silent for three intervals is unseen"

# --- content diff on demand ------------------------------------------------
gr changes --host pc01 --content /etc/motd --wait 30 > "$WORK/diff.txt" &
differ=$!
for _ in $(seq 1 100); do
  [ -n "$(db "SELECT id FROM agent_commands WHERE command = 'content-diff'" 2>/dev/null)" ] && break
  sleep 0.1
done
agent pc01 --once --verbose 2> "$WORK/agent-diff.log" || fail "agent answering content-diff: $(cat "$WORK/agent-diff.log")"
wait "$differ" || fail "changes --content: $(cat "$WORK/diff.txt"); agent: $(cat "$WORK/agent-diff.log"); commands: $(db "SELECT id, command, status FROM agent_commands")"
grep -q "^+edited on pc01" "$WORK/diff.txt" || fail "diff: $(cat "$WORK/diff.txt")"
ok "changes --host --content gets a diff from the agent"

# --- reset --dirty and reboot-when-idle ------------------------------------
rm -rf "$WORK/clients/pc02/upper/etc"  # pc02 clean
agent pc02 --once
out=$(gr reset --dirty --lab lab3)
echo "$out" | grep -q "resets 1 dirty host(s).*: pc01$" || fail "reset --dirty: $out"
gr host show pc01 | grep -q "reset" || fail "pc01 mode not reset"
gr status --json | python3 -c 'import json,sys; h={x["name"]:x for x in json.load(sys.stdin)}
assert h["pc01"]["next_mode"]=="reset" and h["pc01"]["pending_commands"]==["reboot-when-idle"], h["pc01"]
assert h["pc02"]["next_mode"]=="normal" and h["pc02"]["pending_commands"]==[], h["pc02"]' || fail "reset only dirty"
write_utmp "$WORK/clients/pc01/utmp" alice tty1
agent pc01 --once --reboot-command "touch $WORK/rebooted" || fail "agent with a user"
[ ! -e "$WORK/rebooted" ] || fail "rebooted while alice was logged in"
[ "$(db "SELECT status FROM agent_commands WHERE command = 'reboot-when-idle'")" = waiting ] || fail "not waiting"
write_utmp "$WORK/clients/pc01/utmp"
agent pc01 --once --reboot-command "touch $WORK/rebooted" || fail "agent without users"
[ -e "$WORK/rebooted" ] || fail "idle host did not reboot"
[ "$(db "SELECT status FROM agent_commands WHERE command = 'reboot-when-idle'")" = done ] || fail "not done"
# It boots again (a new boot id) in mode reset, comes back clean: its old mode returns.
cat /proc/sys/kernel/random/uuid > "$WORK/clients/pc01/boot_id"
rm -rf "$WORK/clients/pc01/upper/etc"
sed -i 's/"mode": "normal"/"mode": "reset"/' "$WORK/clients/pc01/boot.json"
echo "3.50 1.00" > "$WORK/uptime"
agent pc01 --once --uptime-file "$WORK/uptime"
gr status --json | python3 -c 'import json,sys; h={x["name"]:x for x in json.load(sys.stdin)}
assert h["pc01"]["dirty"] is False and h["pc01"]["next_mode"]=="normal", h["pc01"]' || fail "after reset"
ok "reset --dirty: only dirty pc01 gets mode reset; it waits for alice to log out, reboots, mode returns"

gr lab set lab3 reset-at=22:00 | grep -q "daily at 22:00" || fail "lab schedule"
[ "$(db "SELECT reset_at FROM lab_schedules")" = "22:00" ] || fail "schedule stored"
expect_fail "a bad schedule time" gr lab set lab3 reset-at=25:00
out=$(gr reset --dirty --at 23:59)
echo "$out" | grep -q "at 23:59" || fail "reset --at: $out"
expect_fail "reset --dirty --now --at" gr reset --dirty --now --at 10:00
ok "lab reset schedules and reset --at are stored for goldroot serve"
# The boot's server stops answering: the agent reports to the site's other
# server (the signed manifest's "servers", in the boot record), and stays there.
dead=$(free_port)
python3 - "$WORK/clients/pc02/boot.json" "http://127.0.0.1:$dead" "$SERVER_URL" <<'PY'
import json, sys
record = json.load(open(sys.argv[1]))
record["server"], record["servers"] = sys.argv[2], [sys.argv[3]]
json.dump(record, open(sys.argv[1], "w"))
PY
before=$(db "SELECT COUNT(*) FROM agent_history h JOIN hosts ON hosts.id = h.host_id WHERE name = 'pc02'")
agent pc02 --once 2> "$WORK/failover.log" || fail "the agent did not report through the other server: $(cat "$WORK/failover.log")"
after=$(db "SELECT COUNT(*) FROM agent_history h JOIN hosts ON hosts.id = h.host_id WHERE name = 'pc02'")
[ "$after" -gt "$before" ] || fail "no report arrived through the other server"
grep -q "127.0.0.1:$dead does not answer .*; reporting to $SERVER_URL instead" "$WORK/failover.log" ||
  fail "the agent did not say where it turned: $(cat "$WORK/failover.log")"
ok "a silent server: the agent reports to the site's other server from the boot record"
finish

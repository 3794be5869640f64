#!/usr/bin/env bash
# Issue #14's attacks, by a student with root on one lab PC (pc02) and a
# cable into the lab, against a real `goldroot serve` on loopback: every
# "host" is a loopback address of its own (pc01 127.0.0.11, pc02 127.0.0.12,
# pc03 127.0.0.13), and requests come from it (curl --interface), from a
# privileged source port where the attack would use one.
#
#   - pc02 asks for pc01's layer, with its own key, from pc01's IP and a
#     privileged port: 403. Unsigned: 401.
#   - pc02 presents a key of its own as pc01's: refused, and the admin sees
#     the refusal (host keys: the key id and the address).
#   - under the diskless "port" policy: a new ephemeral key for pc01 (which
#     keeps a persistent key) is refused; for diskless pc03 it is refused
#     from pc02's IP or an unprivileged port, and taken from pc03's own IP
#     and a privileged port (the documented weakness of that policy).
#   - admin policy: a new host's key waits (pending) and gets no manifest
#     until `host enroll --key-id` accepts exactly that key.
#   - a revoked host's report is refused; re-adding a removed host does not
#     bring its old key back.
#   - goldroot-boot refuses a recorded manifest replayed to a later boot, a
#     genuine manifest of another MAC, one past its expiry and an image
#     below the rollback floor (a man in the middle serves them).
#   - a host whose agent reports another mode than its manifest gave is
#     refused and shown by `goldroot status`.
# (A mode typed on the kernel command line: tests/boot_root.sh. An upload
# signed by another host: tests/capture_host_root.sh.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"
require_root
: "${GOLDROOT_BOOT:?GOLDROOT_BOOT must point at the goldroot-boot binary}"
command -v mkfs.erofs >/dev/null || require "mkfs.erofs (erofs-utils)"

gr init >/dev/null
src="$WORK/src"
mkdir -p "$src/boot" "$src/etc"
head -c 100000 /dev/urandom > "$src/boot/vmlinuz-6.1.0-28-amd64"
head -c 100000 /dev/urandom > "$src/boot/initrd.img-6.1.0-28-amd64"
echo "template" > "$src/etc/hostname"
gr image import "$src" --name lab >/dev/null
gr image export lab >/dev/null
gr channel set gold lab >/dev/null
gr lab add lab3 >/dev/null
mkdir -p "$GOLDROOT_SITE/layers/hosts/pc01/etc/ssh"
echo "pc01's private host key" > "$GOLDROOT_SITE/layers/hosts/pc01/etc/ssh/ssh_host_ed25519_key"
gr host add pc01 --mac 52:54:00:00:00:01 --ip 127.0.0.11 --lab lab3 >/dev/null
gr host add pc02 --mac 52:54:00:00:00:02 --ip 127.0.0.12 --lab lab3 >/dev/null
gr host add pc03 --mac 52:54:00:00:00:03 --ip 127.0.0.13 --lab lab3 >/dev/null
for host in pc01 pc02; do
  make_host_key "$WORK/$host.key"
  gr host enroll $host --key "$WORK/$host.key.pub" >/dev/null
done
start_server
key_state() {  # HOST FIELD: a field of HOST's row in host keys --json
  gr host keys --json | python3 -c "import json, sys; print([h for h in json.load(sys.stdin) if h['host'] == '$1'][0]$2)"
}
privileged=(--local-port 900-1000)

# --- another host's layer ------------------------------------------------------
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' --interface 127.0.0.11 "${privileged[@]}" \
      "$SERVER_URL/layers/pc01.tar")" = 401 ] || fail "an unsigned layer request: $(cat "$WORK/body")"
[ "$(host_get "$WORK/pc02.key" "$SERVER_URL/layers/pc01.tar" --interface 127.0.0.11 "${privileged[@]}")" = 403 ] ||
  fail "pc02's key got pc01's layer: $(cat "$WORK/body")"
grep -q "not signed by the key enrolled for this host" "$WORK/body" || fail "403 body: $(cat "$WORK/body")"
grep -q "pc01's private host key" "$WORK/body" && fail "pc01's secret reached pc02"
[ "$(host_get "$WORK/pc01.key" "$SERVER_URL/layers/pc01.tar" --interface 127.0.0.11)" = 200 ] ||
  fail "pc01's own layer: $(cat "$WORK/body")"
mkdir "$WORK/layer" && tar -xf "$WORK/body" -C "$WORK/layer"
grep -q "pc01's private host key" "$WORK/layer/etc/ssh/ssh_host_ed25519_key" || fail "pc01's layer lacks its file"
ok "pc01's layer (with its SSH host key) goes to pc01's key only: pc02's key from pc01's IP and a privileged port gets 403, no signature 401"

# --- pc02 presents a key of its own as pc01's ---------------------------------
make_host_key "$WORK/stolen.key"
[ "$(host_get "$WORK/stolen.key" "$SERVER_URL/api/v1/boot/52:54:00:00:00:01" --interface 127.0.0.11 "${privileged[@]}")" = 403 ] ||
  fail "another key for pc01: $(cat "$WORK/body")"
grep -q '"enrollment":"refused"' "$WORK/body" || fail "403 body: $(cat "$WORK/body")"
[ "$(key_state pc01 '["refused"]["key_id"]')" = "$(id_of "$WORK/stolen.key")" ] || fail "refusal not recorded: $(gr host keys)"
[ "$(key_state pc01 '["refused"]["from"]')" = 127.0.0.11 ] || fail "refusal address: $(gr host keys --json)"
[ "$(key_state pc01 '["key_id"]')" = "$(id_of "$WORK/pc01.key")" ] || fail "pc01's key changed"
gr host keys | grep -q '!!' || fail "host keys does not mark the refusal: $(gr host keys)"
ok "a second key for enrolled pc01 is refused (even from its IP and a privileged port) and shown to the admin"

# --- the port policy for diskless hosts ----------------------------------------
gr lab set lab3 enroll=port >/dev/null
make_host_key "$WORK/ephemeral.key"
ephemeral=(-H "X-Goldroot-Key-Persistent: no")
[ "$(host_get "$WORK/ephemeral.key" "$SERVER_URL/api/v1/boot/52:54:00:00:00:01" "${ephemeral[@]}" \
      --interface 127.0.0.11 "${privileged[@]}")" = 403 ] || fail "port policy replaced pc01's persistent key"
make_host_key "$WORK/pc03.key"
[ "$(host_get "$WORK/pc03.key" "$SERVER_URL/api/v1/boot/52:54:00:00:00:03" "${ephemeral[@]}" \
      --interface 127.0.0.12 "${privileged[@]}")" = 403 ] || fail "pc03's key from pc02's IP: $(cat "$WORK/body")"
[ "$(host_get "$WORK/pc03.key" "$SERVER_URL/api/v1/boot/52:54:00:00:00:03" "${ephemeral[@]}" \
      --interface 127.0.0.13 --local-port 40000-41000)" = 403 ] || fail "pc03's key from an unprivileged port"
[ "$(host_get "$WORK/pc03.key" "$SERVER_URL/api/v1/boot/52:54:00:00:00:03" "${ephemeral[@]}" \
      --interface 127.0.0.13 "${privileged[@]}")" = 200 ] || fail "pc03's own boot: $(cat "$WORK/body")"
[ "$(key_state pc03 '["enrolled_by"]')" = port ] || fail "pc03 enrolment: $(gr host keys --json)"
ok "port policy: pc01's disk key is never replaced; diskless pc03's key is taken only from its IP and a privileged port"

# --- admin policy: a new key waits for the admin ---------------------------------
gr lab set lab3 enroll=admin >/dev/null
gr host add pc04 --mac 52:54:00:00:00:04 --lab lab3 >/dev/null
make_host_key "$WORK/pc04.key"
[ "$(host_get "$WORK/pc04.key" "$SERVER_URL/api/v1/boot/52:54:00:00:00:04")" = 403 ] || fail "pc04 before enrolment"
grep -q '"enrollment":"pending"' "$WORK/body" && grep -q "goldroot host enroll pc04 --key-id $(id_of "$WORK/pc04.key")" "$WORK/body" ||
  fail "pending answer: $(cat "$WORK/body")"
expect_fail "enrolling pc04 with another key id" gr host enroll pc04 --key-id 0123456789abcdef
gr host enroll pc04 --key-id "$(id_of "$WORK/pc04.key")" >/dev/null || fail "enroll pc04"
[ "$(host_get "$WORK/pc04.key" "$SERVER_URL/api/v1/boot/52:54:00:00:00:04")" = 200 ] || fail "pc04 after enrolment: $(cat "$WORK/body")"
ok "admin policy: a new host's key waits, and 'host enroll --key-id' accepts exactly the key the host showed"

# --- a host that booted in another mode than its manifest's -----------------------
# pc04 was just given a manifest for mode normal; its student mounted the
# upper on disk by hand and its agent says maintenance.
report='{"version": 1, "host": "pc04", "boot_id": "b-1", "sequence": 1, "sent_at": '$(date +%s)', "event": "start", "mode": "maintenance"}'
printf '%s' "$report" > "$WORK/report.json"
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/json' \
      -H "X-Goldroot-Signature: $(sign_report "$WORK/pc04.key" "$WORK/report.json")" \
      --data-binary "$report" "$SERVER_URL/api/v1/reports")" = 403 ] || fail "a report in another mode: $(cat "$WORK/body")"
gr status | grep -q "^!! pc04 booted in mode maintenance, but its manifest said normal" || fail "status: $(gr status)"
grep -q "refused pc04's report: it booted in mode maintenance" "$WORK/serve.log" || fail "serve log"
ok "a host reporting another mode than its manifest gave is refused, and status shows it to the admin"

# --- a revoked host, a removed and re-added host ------------------------------------
make_client pc02 52:54:00:00:00:02  # enrolls a fresh key for pc02's agent
agent pc02 --once >"$WORK/agent.log" 2>&1 || fail "pc02's report before rekey: $(cat "$WORK/agent.log")"
gr host rekey pc02 >/dev/null
agent pc02 --once >"$WORK/agent.log" 2>&1 && fail "a revoked host's report was taken"
grep -q "403" "$WORK/agent.log" || fail "agent log: $(cat "$WORK/agent.log")"
sign_report_file() { printf '%s' "$1" > "$WORK/report.json"; sign_report "$2" "$WORK/report.json"; }
report='{"version": 1, "host": "pc02", "boot_id": "b-9", "sequence": 1, "sent_at": '$(date +%s)', "event": "periodic"}'
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/json' \
      -H "X-Goldroot-Signature: $(sign_report_file "$report" "$WORK/clients/pc02/host.key")" \
      --data-binary "$report" "$SERVER_URL/api/v1/reports")" = 403 ] || fail "revoked key's report: $(cat "$WORK/body")"
gr host rm pc01 >/dev/null
gr host add pc01 --mac 52:54:00:00:00:01 --ip 127.0.0.11 --lab lab3 >/dev/null
gr lab set lab3 enroll=first-use >/dev/null
[ "$(host_get "$WORK/pc01.key" "$SERVER_URL/api/v1/boot/52:54:00:00:00:01")" = 403 ] ||
  fail "re-added pc01 took its old key back: $(cat "$WORK/body")"
grep -q '"enrollment":"revoked"' "$WORK/body" || fail "revoked answer: $(cat "$WORK/body")"
ok "a revoked host's reports get 403; a removed and re-added host never takes its old key back, even under first use"

# --- a man in the middle serves manifests to goldroot-boot ---------------------------
# pc02 boots with its key; genuine manifests are taken from the real server
# (pc02's and pc04's), and crafted ones are signed with the site key as if
# they had been recorded long ago.
gr lab set lab3 enroll=admin >/dev/null
make_host_key "$WORK/boot.key"
gr host enroll pc02 --key "$WORK/boot.key.pub" >/dev/null
[ "$(host_get "$WORK/boot.key" "$SERVER_URL/api/v1/boot/52:54:00:00:00:02")" = 200 ] || fail "pc02's manifest: $(cat "$WORK/body")"
cp "$WORK/body" "$WORK/recorded.json"
[ "$(host_get "$WORK/pc04.key" "$SERVER_URL/api/v1/boot/52:54:00:00:00:04")" = 200 ] || fail "pc04's manifest"
cp "$WORK/body" "$WORK/other-mac.json"
python3 - "$WORK" "$GOLDROOT_SITE/keys/site.key" <<'PY' || fail "crafting manifests"
import base64, json, subprocess, sys, time
work, key = sys.argv[1], sys.argv[2]
recorded = json.load(open(f"{work}/recorded.json"))
def resign(body, name):
    body = dict(body); body.pop("signature")
    text = "goldroot-boot-manifest-v1\n" + json.dumps(body, sort_keys=True, separators=(",", ":"))
    open(f"{work}/statement", "w").write(text)  # ed25519 in openssl reads a file, not a pipe
    signature = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key,
                                "-in", f"{work}/statement"], capture_output=True, check=True).stdout
    body["signature"] = dict(recorded["signature"], value=base64.b64encode(signature).decode())
    json.dump(body, open(f"{work}/{name}.json", "w"))
expired = json.loads(json.dumps(recorded))
expired["host"]["issued_at"] -= 86400; expired["host"]["expires_at"] = int(time.time()) - 3600
resign(expired, "expired")
old = json.loads(json.dumps(recorded))
old["host"]["floor"] = old["host"]["image_time"] + 1
resign(old, "below-floor")
PY
mitm_port=$(free_port)
cat > "$WORK/mitm.py" <<'PY'
import http.server, json, sys
work, port = sys.argv[1], int(sys.argv[2])
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/api/v1/challenge":
            # The challenge the recorded manifest answered, or a fresh-looking one.
            chosen = open(f"{work}/serve").read().strip()
            manifest = json.load(open(f"{work}/{chosen}.json"))
            body = json.dumps({"challenge": manifest["host"]["challenge"]
                               if chosen != "recorded" else "1.fresh.challenge"}).encode()
        else:
            body = open(f"{work}/" + open(f"{work}/serve").read().strip() + ".json", "rb").read()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
PY
echo recorded >"$WORK/serve"
python3 "$WORK/mitm.py" "$WORK" "$mitm_port" &
mitm=$!
on_exit "kill $mitm 2>/dev/null"
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$mitm_port/api/v1/challenge" && break; sleep 0.1; done
mitm_boot() {  # NAME EXPECTED-MESSAGE: goldroot-boot as pc02 fed NAME.json; must exit 4 with the message
  echo "$1" >"$WORK/serve"
  local status=0
  "$GOLDROOT_BOOT" --cmdline "boot=goldroot goldroot.server=http://127.0.0.1:$mitm_port goldroot.mac=52:54:00:00:00:02 goldroot.data=none" \
    --site-key "$GOLDROOT_SITE/keys/site.pub" --host-key "$WORK/boot.key" --upper-dir "$WORK/upper" \
    --root "$WORK/root" --run-dir "$WORK/run-$1" 2>"$WORK/err" || status=$?
  [ "$status" = 4 ] || fail "$1: exit $status: $(cat "$WORK/err")"
  grep -q "$2" "$WORK/err" || fail "$1: $(cat "$WORK/err")"
  [ "$(grep -c . "$WORK/err")" = 1 ] || fail "$1: more than one line: $(cat "$WORK/err")"
  [ ! -e "$WORK/run-$1/image" ] || fail "$1: it got as far as mounting"
}
mkdir -p "$WORK/upper"
mitm_boot recorded "answers another request (a replayed manifest)"
mitm_boot other-mac "is for MAC 52:54:00:00:00:04, not this machine's"
mitm_boot expired "the manifest expired"
mitm_boot below-floor "older than the rollback floor"
ok "goldroot-boot refuses a replayed manifest, another MAC's, an expired one and one below the rollback floor, before downloading anything"

# --- the site's rollback floor -------------------------------------------------------
sleep 1  # a second image, made at least a second later
echo v2 > "$src/etc/issue"
gr image import "$src" --name lab >/dev/null
gr image export lab >/dev/null
gr site set rollback-floor=lab >/dev/null
[ "$(host_get "$WORK/boot.key" "$SERVER_URL/api/v1/boot/52:54:00:00:00:02")" = 409 ] ||
  fail "an image below the floor was issued: $(cat "$WORK/body")"
grep -q "older than the site's rollback floor" "$WORK/body" || fail "floor answer: $(cat "$WORK/body")"
expect_fail "lowering the rollback floor" gr site set rollback-floor=lab~1
echo "$LAST_ERROR" | grep -q "only rises" || fail "floor error: $LAST_ERROR"
gr channel set gold lab >/dev/null
[ "$(host_get "$WORK/boot.key" "$SERVER_URL/api/v1/boot/52:54:00:00:00:02")" = 200 ] || fail "the new gold: $(cat "$WORK/body")"
python3 -c "import json; h = json.load(open('$WORK/body'))['host']; assert h['floor'] == h['image_time'] > 0, h" ||
  fail "the manifest's floor: $(cat "$WORK/body")"
ok "above a rollback floor (set from an image, only rising) the server issues no older image, and says so"
finish

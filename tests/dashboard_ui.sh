#!/usr/bin/env bash
# The web dashboard at / of `goldroot serve`, in headless Chromium (Debian's
# chromium driven by playwright-core from npm): it asks for the admin token
# and trades it for an HttpOnly, SameSite=Strict session cookie (never
# keeping the token); a lab's grid shows its hosts' states, dirty marks and
# image versions; the channels and who runs which version; a host's panel
# with its changes sets its mode; a lab's mode is set in one action; both
# are checked through the API; a session that ends, and Log out, bring the
# login form back. Host keys (#14): a pending key and a refused one are
# marked on their tiles, the panel shows the key state and a host's alert,
# Approve enrolls the exact key shown (the host then gets its manifest).
# Also the static routes, the mode and key endpoints' bad input and admin
# token with curl, the loopback exemption, and the audit log.
# Leaves screenshots in build/test-artifacts/dashboard{,-login}.png.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"

build_dir=$(cd "$(dirname "$GOLDROOT")/.." && pwd)
artifacts=${GOLDROOT_ARTIFACTS:-$build_dir/test-artifacts}
chromium=${CHROMIUM:-/usr/bin/chromium}
playwright_version=1.65.1
npm_dir=${GOLDROOT_NPM_DIR:-$build_dir/npm}
playwright=$npm_dir/node_modules/playwright-core

[ -x "$chromium" ] || require "Debian's chromium at $chromium (apt-get install chromium)"
command -v node >/dev/null || require "node (apt-get install nodejs)"
installed=$(node -p "require('$playwright/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$playwright_version" ]; then
  command -v npm >/dev/null || require "npm, to install playwright-core (apt-get install npm)"
  npm install --prefix "$npm_dir" --no-audit --no-fund "playwright-core@$playwright_version" \
    > "$WORK/npm.log" 2>&1 ||
    require "playwright-core@$playwright_version from npm (offline?): $(tail -1 "$WORK/npm.log")"
fi

# --- a site: two images on channels, two labs, agents' reports ------------
gr init >/dev/null
mkdir -p "$WORK/v1/etc" "$WORK/v1/boot" "$WORK/v2/etc"
echo one > "$WORK/v1/etc/version"
# v1 is exported, so that an enrolled host gets its manifest.
head -c 20000 /dev/urandom > "$WORK/v1/boot/vmlinuz-6.1.0-28-amd64"
head -c 10000 /dev/urandom > "$WORK/v1/boot/initrd.img-6.1.0-28-amd64"
echo two > "$WORK/v2/etc/version"
v1=$(gr image import "$WORK/v1" --name lab)
v2=$(gr image import "$WORK/v2" --name lab)
gr channel set gold "$v1" >/dev/null
gr channel set test "$v2" >/dev/null
gr image export gold >/dev/null
gr lab add lab3 >/dev/null
gr lab add lab4 >/dev/null
for i in 1 2 3 4; do gr host add pc0$i --mac 52:54:00:dd:00:0$i --lab lab3 >/dev/null; done
for i in 5 6; do gr host add pc0$i --mac 52:54:00:dd:00:0$i --lab lab4 >/dev/null; done
start_server
CLIENT_COMMIT=$v1 make_client pc01 52:54:00:dd:00:01          # dirty: 2 changes
CLIENT_COMMIT=$v2 make_client pc02 52:54:00:dd:00:02          # clean, not gold's image
rm -rf "$WORK/clients/pc02/upper/etc"
CLIENT_COMMIT=$v1 make_client pc05 52:54:00:dd:00:05
rm -rf "$WORK/clients/pc05/upper/etc"
for host in pc01 pc02 pc05; do agent "$host" --once || fail "agent $host: $(cat "$WORK/serve.log")"; done
ok "site: gold and test channels, labs lab3 and lab4, three hosts reported"

# --- host keys: one pending, one refused, one host booted around its manifest
key_id_of_answer() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["key_id"])' "$WORK/body"; }
make_host_key "$WORK/pc04.key"   # a new PC's first boot: its key waits for the admin
[ "$(host_get "$WORK/pc04.key" "$SERVER_URL/api/v1/boot/52:54:00:dd:00:04")" = 403 ] &&
  grep -q '"enrollment":"pending"' "$WORK/body" || fail "pc04's new key: $(cat "$WORK/body")"
pc04_key=$(key_id_of_answer)
make_host_key "$WORK/pc06.key"
gr host enroll pc06 --key "$WORK/pc06.key.pub" >/dev/null
make_host_key "$WORK/impostor.key"  # someone else claims to be pc06
[ "$(host_get "$WORK/impostor.key" "$SERVER_URL/api/v1/boot/52:54:00:dd:00:06")" = 403 ] &&
  grep -q '"enrollment":"refused"' "$WORK/body" || fail "pc06's impostor: $(cat "$WORK/body")"
impostor_key=$(key_id_of_answer)
pc06_key=$(gr host keys --json | python3 -c 'import json, sys
print(next(k["key_id"] for k in json.load(sys.stdin) if k["host"] == "pc06"))')
# pc05 fetches its manifest (mode normal), then reports that it booted a shell.
[ "$(host_get "$WORK/clients/pc05/host.key" "$SERVER_URL/api/v1/boot/52:54:00:dd:00:05")" = 200 ] ||
  fail "pc05's manifest: $(cat "$WORK/body")"
sed -i 's/"mode": "normal"/"mode": "shell"/' "$WORK/clients/pc05/boot.json"
agent pc05 --once > "$WORK/agent-pc05.log" 2>&1 && fail "pc05's report of a shell boot was accepted"
gr status --json | python3 -c 'import json, sys
hosts = {h["name"]: h for h in json.load(sys.stdin)}
assert hosts["pc04"]["key"]["state"] == "pending" and hosts["pc04"]["key"]["pending"]["key_id"] == sys.argv[1], hosts["pc04"]
assert hosts["pc06"]["key"]["state"] == "enrolled" and hosts["pc06"]["key"]["refused"]["key_id"] == sys.argv[2], hosts["pc06"]
assert hosts["pc01"]["key"]["state"] == "enrolled" and hosts["pc01"]["key"]["refused"] is None, hosts["pc01"]
assert "shell" in hosts["pc05"]["alert"], hosts["pc05"]' "$pc04_key" "$impostor_key" ||
  fail "status --json keys: $(gr status --json)"
ok "pc04's key $pc04_key is pending, pc06 refused $impostor_key, pc05 has an alert (status --json)"

# --- the static routes ----------------------------------------------------
check_type() {  # PATH CONTENT-TYPE
  local type
  type=$(curl -s -o "$WORK/body" -w '%{http_code} %{content_type}' "$SERVER_URL$1")
  [ "$type" = "200 $2" ] || fail "GET $1: $type"
}
check_type / "text/html; charset=utf-8"
grep -q '<script src="/dashboard/app.js">' "$WORK/body" || fail "index.html"
cp "$WORK/body" "$WORK/index.html"
check_type /dashboard/app.js "text/javascript; charset=utf-8"
check_type /dashboard/style.css "text/css; charset=utf-8"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$SERVER_URL/dashboard/nope.js")" = 404 ] ||
  fail "an unknown dashboard file"
grep -Eq '(src|href)="(https?:)?//' "$WORK/index.html" && fail "the page loads something from elsewhere"
ok "/ and /dashboard/<file> serve the embedded page with its content types"

# --- the browser ----------------------------------------------------------
admin=$(cat "$GOLDROOT_SITE/keys/admin.token")
bearer=(-H "Authorization: Bearer $admin")
mkdir -p "$artifacts"
screenshot=$artifacts/dashboard.png
rm -f "$screenshot" "${screenshot%.png}-login.png"
PLAYWRIGHT=$playwright CHROMIUM=$chromium V1=$v1 V2=$v2 ADMIN_TOKEN=$admin COOKIE_FILE="$WORK/cookie" \
  PC04_KEY=$pc04_key PC06_KEY=$pc06_key IMPOSTOR_KEY=$impostor_key \
  node "$(dirname "$0")/dashboard_ui.mjs" "$SERVER_URL/" "$screenshot" > "$WORK/browser.log" 2>&1 ||
  { cat "$WORK/browser.log" >&2; fail "the browser test"; }
cat "$WORK/browser.log"
[ -s "$screenshot" ] || fail "no screenshot at $screenshot"
ok "headless Chromium: login, grids, panel, host mode, lab mode, key approval, session end, logout (screenshot: $screenshot)"
[ -s "$WORK/cookie" ] || fail "the browser test left no session cookie in $WORK/cookie"
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Cookie: goldroot_session=$(cat "$WORK/cookie")" \
     "$SERVER_URL/api/v1/session")" = 401 ] || fail "the logged-out cookie still works: $(cat "$WORK/body")"
ok "after Log out, the old session cookie gets 401"

# --- what the clicks changed, through the API -----------------------------
curl -s "${bearer[@]}" "$SERVER_URL/api/v1/hosts" > "$WORK/hosts.json"
python3 - "$WORK/hosts.json" <<'PY' || fail "hosts after the clicks: $(cat "$WORK/hosts.json")"
import json, sys
hosts = {h["name"]: h for h in json.load(open(sys.argv[1]))}
assert hosts["pc01"]["mode"] == "maintenance" and hosts["pc01"]["effective_mode"] == "maintenance", hosts["pc01"]
for name in ("pc02", "pc03", "pc04"):
    assert hosts[name]["mode"] is None and hosts[name]["effective_mode"] == "normal", hosts[name]
for name in ("pc05", "pc06"):
    assert hosts[name]["mode"] is None and hosts[name]["effective_mode"] == "reset", hosts[name]
PY
gr host show pc01 --json | grep -q '"maintenance"' || fail "host show pc01: $(gr host show pc01 --json)"
gr lab list --json | python3 -c '
import json, sys
labs = {l["name"]: l for l in json.load(sys.stdin)}
assert labs["lab4"]["mode"] == "reset" and labs["lab3"].get("mode") in (None, ""), labs' ||
  fail "lab list after the lab click: $(gr lab list --json)"
ok "the API and the CLI see pc01 in maintenance and lab4 (pc05, pc06) in reset"
gr host keys --json | python3 -c 'import json, sys
keys = {k["host"]: k for k in json.load(sys.stdin)}
assert keys["pc04"]["state"] == "enrolled" and keys["pc04"]["key_id"] == sys.argv[1], keys["pc04"]
assert keys["pc04"]["enrolled_by"] == "admin" and keys["pc04"]["pending"] is None, keys["pc04"]
assert keys["pc06"]["state"] == "enrolled" and keys["pc06"]["key_id"] == sys.argv[2], keys["pc06"]' \
  "$pc04_key" "$pc06_key" || fail "host keys after Approve: $(gr host keys --json)"
[ "$(host_get "$WORK/pc04.key" "$SERVER_URL/api/v1/boot/52:54:00:dd:00:04")" = 200 ] &&
  grep -q '"key_id"' "$WORK/body" || fail "pc04's manifest after Approve: $(cat "$WORK/body")"
ok "Approve enrolled pc04's key $pc04_key (host keys), and pc04 now gets its manifest (200); pc06's key stayed"

# --- the mode endpoints with curl -----------------------------------------
post() {  # PATH BODY [CURL ARGS…] -> "$status", body in $WORK/body; as the admin
  local path=$1 body=$2; shift 2
  status=$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    "${bearer[@]}" --data "$body" "$@" "$SERVER_URL$path")
}
one_sentence() {  # the body is {"error": "<one sentence>"}
  python3 -c 'import json, sys
body = json.load(open(sys.argv[1]))
assert list(body) == ["error"] and body["error"] and "\n" not in body["error"], body' "$WORK/body" ||
    fail "error body: $(cat "$WORK/body")"
}
post /api/v1/hosts/pc02/mode '{"mode": "install"}'
[ "$status" = 200 ] && grep -q '"effective_mode": "install"' "$WORK/body" || fail "set pc02: $status $(cat "$WORK/body")"
post /api/v1/hosts/pc02/mode '{"mode": ""}'
[ "$status" = 200 ] && grep -q '"mode": null' "$WORK/body" || fail "pc02 inherits again: $(cat "$WORK/body")"
post /api/v1/hosts/pc02/mode '{"mode": "turbo"}'
[ "$status" = 400 ] || fail "unknown mode: $status"; one_sentence
grep -q "unknown boot mode 'turbo'" "$WORK/body" || fail "unknown mode: $(cat "$WORK/body")"
post /api/v1/hosts/nosuch/mode '{"mode": "reset"}'
[ "$status" = 404 ] || fail "unknown host: $status"; one_sentence
grep -q "there is no host nosuch" "$WORK/body" || fail "unknown host: $(cat "$WORK/body")"
post /api/v1/labs/nosuch/mode '{"mode": "reset"}'
[ "$status" = 404 ] || fail "unknown lab: $status"; one_sentence
post /api/v1/labs/lab4/mode '{"mode": "bogus"}'
[ "$status" = 400 ] || fail "unknown lab mode: $status"; one_sentence
post /api/v1/hosts/pc02/mode 'not json'
[ "$status" = 400 ] || fail "malformed body: $status"; one_sentence
post /api/v1/hosts/pc02/mode '{"mode": 3}'
[ "$status" = 400 ] || fail "mode not a string: $status"; one_sentence
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "${bearer[@]}" "$SERVER_URL/api/v1/hosts/pc02/mode")" = 405 ] ||
  fail "GET on the mode endpoint"
[ "$(gr host show pc02 --json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("mode"))')" = None ] ||
  fail "bad input changed pc02"
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "${bearer[@]}" "$SERVER_URL/api/v1/hosts/pc01/changes")" = 200 ] &&
  grep -q '/etc/added' "$WORK/body" || fail "the changes route behind the mode route"
ok "mode endpoints: 400 for an unknown mode or bad body, 404 for an unknown host or lab, 405 for GET"

make_host_key "$WORK/pc03.key"
[ "$(host_get "$WORK/pc03.key" "$SERVER_URL/api/v1/boot/52:54:00:dd:00:03")" = 403 ] ||
  fail "pc03's new key: $(cat "$WORK/body")"
pc03_key=$(key_id_of_answer)
post /api/v1/hosts/pc03/enroll '{"key_id": "0123456789abcdef"}'
[ "$status" = 409 ] || fail "enroll another key id: $status $(cat "$WORK/body")"; one_sentence
grep -q "$pc03_key, not 0123456789abcdef" "$WORK/body" || fail "enroll another key id: $(cat "$WORK/body")"
post /api/v1/hosts/pc02/enroll "{\"key_id\": \"$pc03_key\"}"
[ "$status" = 409 ] || fail "enroll a host with no pending key: $status"; one_sentence
grep -q "no key waiting" "$WORK/body" || fail "no pending key: $(cat "$WORK/body")"
post /api/v1/hosts/pc03/enroll '{"key_id": "xyz"}'
[ "$status" = 400 ] || fail "a malformed key id: $status"; one_sentence
post /api/v1/hosts/pc03/enroll '{"key": "0123456789abcdef"}'
[ "$status" = 400 ] || fail "no key_id: $status"; one_sentence
post /api/v1/hosts/nosuch/enroll '{"key_id": "0123456789abcdef"}'
[ "$status" = 404 ] || fail "enroll an unknown host: $status"; one_sentence
post /api/v1/hosts/pc03/rekey 'not json'
[ "$status" = 400 ] || fail "rekey with a malformed body: $status"; one_sentence
for path in /api/v1/hosts/pc03/enroll /api/v1/hosts/pc04/rekey; do
  [ "$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
       --data "{\"key_id\": \"$pc03_key\"}" "$SERVER_URL$path")" = 401 ] ||
    fail "$path without the admin token: $(cat "$WORK/body")"
done
gr host keys --json | python3 -c 'import json, sys
keys = {k["host"]: k for k in json.load(sys.stdin)}
assert keys["pc03"]["state"] == "pending" and keys["pc03"]["pending"]["key_id"] == sys.argv[1], keys["pc03"]
assert keys["pc04"]["state"] == "enrolled" and keys["pc04"]["key_id"] == sys.argv[2], keys["pc04"]' \
  "$pc03_key" "$pc04_key" || fail "refused key requests changed keys: $(gr host keys --json)"
ok "enroll endpoint: 409 for another key id or no pending key, 400 for a bad body, 404 for an unknown host, 401 without the admin token"

post /api/v1/hosts/pc04/rekey '{}'
[ "$status" = 200 ] && python3 -c 'import json, sys
assert json.load(open(sys.argv[1])) == {"host": "pc04", "revoked": sys.argv[2]}' "$WORK/body" "$pc04_key" ||
  fail "rekey pc04: $status $(cat "$WORK/body")"
post /api/v1/hosts/pc03/rekey '{}'
[ "$status" = 200 ] && grep -q '"revoked": null' "$WORK/body" || fail "rekey pc03: $status $(cat "$WORK/body")"
gr host keys --json | python3 -c 'import json, sys
keys = {k["host"]: k for k in json.load(sys.stdin)}
for host in ("pc03", "pc04"):
    assert keys[host]["state"] == "none" and keys[host]["pending"] is None, keys[host]' ||
  fail "host keys after rekey: $(gr host keys --json)"
[ "$(host_get "$WORK/pc04.key" "$SERVER_URL/api/v1/boot/52:54:00:dd:00:04")" = 403 ] &&
  grep -q '"enrollment":"revoked"' "$WORK/body" || fail "pc04's revoked key: $(cat "$WORK/body")"
ok "rekey endpoint: pc04's key revoked (200, host keys: none, its key now refused), pc03's pending key forgotten"

code() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }  # CURL ARGS… -> the status
for path in /api/v1/hosts/pc03/mode /api/v1/labs/lab3/mode; do
  [ "$(code -X POST -H 'Content-Type: application/json' --data '{"mode":"shell"}' "$SERVER_URL$path")" = 401 ] ||
    fail "$path without the admin token"
  [ "$(code -X POST -H 'Content-Type: application/json' --data '{"mode":"shell"}' -H 'Authorization: Bearer wrong' \
       "$SERVER_URL$path")" = 403 ] || fail "$path with a wrong token"
  [ "$(code -X POST --data '{"mode":"shell"}' "${bearer[@]}" "$SERVER_URL$path")" = 415 ] ||
    fail "$path as a form post: $(cat "$WORK/body")"
done
for path in /api/v1/labs /api/v1/hosts /api/v1/status /api/v1/channels /api/v1/images /api/v1/hosts/pc01/changes; do
  [ "$(code "$SERVER_URL$path")" = 401 ] || fail "$path without the token from loopback: $(cat "$WORK/body")"
done
[ "$(code -H 'Host: rebound.example' "${bearer[@]}" "$SERVER_URL/api/v1/labs")" = 421 ] ||
  fail "a foreign Host: $(cat "$WORK/body")"
[ "$(code -X POST -H 'Content-Type: application/json' --data '{"mode":"shell"}' "${bearer[@]}" \
     "$SERVER_URL/api/v1/hosts/pc03/mode")" = 200 ] || fail "with the admin token: $(cat "$WORK/body")"
gr host show pc03 --json | grep -q '"shell"' || fail "pc03 is not in shell mode"
[ "$(code "$SERVER_URL/")" = 200 ] || fail "the page itself is open"
ok "the admin API needs the admin token even from loopback (401 without, 403 wrong, 415 not JSON, 421 foreign Host); the page itself is open"

exempt_port=$(free_port)
exempt_url=http://127.0.0.1:$exempt_port
"$GOLDROOT" serve --listen "${exempt_url#http://}" --admin-loopback-exempt yes >> "$WORK/serve-exempt.log" 2>&1 &
exempt_server=$!
on_exit "kill $exempt_server; wait $exempt_server"
for _ in $(seq 1 300); do curl -s -o /dev/null "$exempt_url/" && break; sleep 0.1; done
[ "$(code "$exempt_url/api/v1/labs")" = 200 ] && grep -q '"lab4"' "$WORK/body" ||
  fail "--admin-loopback-exempt yes, without a token: $(cat "$WORK/body") $(cat "$WORK/serve-exempt.log")"
[ "$(code "$SERVER_URL/api/v1/labs")" = 401 ] || fail "the main server without a token"
ok "with --admin-loopback-exempt yes loopback needs no token (200); without it, 401"

# --- the audit log ----------------------------------------------------------
audit=$GOLDROOT_SITE/logs/audit.log
[ -s "$audit" ] || fail "no audit log at $audit"
grep -rqF "$admin" "$GOLDROOT_SITE/logs" && fail "the admin token is in a log: $(grep -rlF "$admin" "$GOLDROOT_SITE/logs")"
python3 - "$audit" <<'PY' || fail "audit log: $(cat "$audit")"
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
for line in lines:
    assert {"time", "who", "from", "method", "path", "status"} <= set(line), line
def some(label, **fields):
    assert any(all(line.get(k) == v for k, v in fields.items()) for line in lines), label
some("a login", method="POST", path="/api/v1/session", status=200, what="login")
some("a refused login", method="POST", path="/api/v1/session", status=403)
some("a logout", method="DELETE", path="/api/v1/session", status=200, what="logout")
assert any(line["method"] == "POST" and line["path"] == "/api/v1/labs/lab4/mode" and line["status"] == 200
           and line["who"].startswith("session ") and "reset" in line.get("what", "")
           and line["from"].startswith("127.") for line in lines), "the dashboard's lab mode change"
some("a refused change", method="POST", path="/api/v1/hosts/pc03/mode", status=403)
assert any(line["method"] == "POST" and line["path"] == "/api/v1/hosts/pc04/enroll" and line["status"] == 200
           and line["who"].startswith("session ") for line in lines), "the dashboard's key approval"
some("a refused enrolment", method="POST", path="/api/v1/hosts/pc03/enroll", status=409)
some("a revocation", method="POST", path="/api/v1/hosts/pc04/rekey", status=200, who="admin token")
some("a refused read", path="/api/v1/labs", status=401)
PY
ok "the audit log has the logins, logouts, the dashboard's mode change and key approval, and the key endpoints' answers (who, from, method, path, status); no log has the token"
finish

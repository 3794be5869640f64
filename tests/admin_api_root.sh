#!/usr/bin/env bash
# The admin API as a student would attack it, against a real `goldroot
# serve`: a page the admin opens posting cross-origin or as text/plain, a
# DNS-rebound page reading with a foreign Host, a framing check, a client
# on the server itself (loopback is no longer the admin), a forged session
# cookie; and the audit log that records who did what from where.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"

gr init >/dev/null
gr lab add lab3 >/dev/null
gr host add pc01 --mac 52:54:00:ee:00:01 --lab lab3 >/dev/null
start_server
admin=$(cat "$GOLDROOT_SITE/keys/admin.token")
audit=$GOLDROOT_SITE/logs/audit.log
mode_of_lab() { gr lab list --json | python3 -c 'import json,sys; print([l for l in json.load(sys.stdin) if l["name"]=="lab3"][0].get("mode"))'; }
status() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }

# --- loopback is not the admin --------------------------------------------
[ "$(status "$SERVER_URL/api/v1/hosts")" = 401 ] || fail "a tokenless read from loopback: $(cat "$WORK/body")"
[ "$(status -X POST -H 'Content-Type: application/json' --data '{"mode":"shell"}' \
      "$SERVER_URL/api/v1/labs/lab3/mode")" = 401 ] || fail "a tokenless change from loopback"
[ "$(mode_of_lab)" = None ] || fail "lab3 changed"
ok "a program on the server itself is not the admin without the token"

# --- a web page the admin opens: CSRF --------------------------------------
# text/plain is a CORS "simple request": a page can send it with the
# admin's cookie and without a preflight. It must not change anything.
[ "$(status -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: text/plain' \
      --data '{"mode":"shell"}' "$SERVER_URL/api/v1/labs/lab3/mode")" = 415 ] ||
  fail "a text/plain change: $(cat "$WORK/body")"
[ "$(status -X POST -H "Authorization: Bearer $admin" \
      --data '{"mode":"shell"}' "$SERVER_URL/api/v1/labs/lab3/mode")" = 415 ] ||
  fail "a form-encoded change: $(cat "$WORK/body")"
[ "$(status -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
      -H 'Origin: http://evil.example' --data '{"mode":"shell"}' \
      "$SERVER_URL/api/v1/labs/lab3/mode")" = 403 ] || fail "a cross-origin change: $(cat "$WORK/body")"
grep -q "another site" "$WORK/body" || fail "the refusal says why: $(cat "$WORK/body")"
[ "$(status -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
      -H "Origin: http://127.0.0.1:$((SERVER_PORT + 1))" --data '{"mode":"shell"}' \
      "$SERVER_URL/api/v1/labs/lab3/mode")" = 403 ] || fail "a change from another port's page"
[ "$(mode_of_lab)" = None ] || fail "lab3 changed"
ok "text/plain, form and cross-origin changes are refused (415, 415, 403)"

# --- DNS rebinding: the page's own origin, but under the attacker's name --
[ "$(status -H "Authorization: Bearer $admin" -H 'Host: rebind.evil.example' \
      "$SERVER_URL/api/v1/hosts")" = 421 ] || fail "a foreign Host read: $(cat "$WORK/body")"
[ "$(status -X POST -H 'Host: rebind.evil.example' -H 'Content-Type: application/json' \
      --data "{\"token\":\"$admin\"}" "$SERVER_URL/api/v1/session")" = 421 ] ||
  fail "a login under a foreign Host"
[ "$(status -H "Authorization: Bearer $admin" -H "Host: localhost:$SERVER_PORT" \
      "$SERVER_URL/api/v1/hosts")" = 200 ] || fail "Host localhost"
ok "admin requests under a foreign Host are refused (421); localhost works"

# --- the token and a session ------------------------------------------------
[ "$(status -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
      --data '{"mode":"reset"}' "$SERVER_URL/api/v1/labs/lab3/mode")" = 200 ] ||
  fail "a change with the token: $(cat "$WORK/body")"
[ "$(mode_of_lab)" = reset ] || fail "lab3 did not change"
[ "$(status -H 'Cookie: goldroot_session=0123456789abcdef' "$SERVER_URL/api/v1/hosts")" = 401 ] ||
  fail "a made-up session"
[ "$(status -X POST -H 'Content-Type: application/json' --data '{"token":"wrong"}' \
      "$SERVER_URL/api/v1/session")" = 403 ] || fail "a login with a wrong token"
curl -s -D "$WORK/headers" -o "$WORK/body" -X POST -H 'Content-Type: application/json' \
  -H "Origin: $SERVER_URL" --data "{\"token\":\"$admin\"}" "$SERVER_URL/api/v1/session"
cookie=$(sed -n 's/^Set-Cookie: goldroot_session=\([0-9a-f]*\);.*/\1/ip' "$WORK/headers" | tr -d '\r')
[ -n "$cookie" ] || fail "no session cookie: $(cat "$WORK/headers")"
grep -i '^Set-Cookie:' "$WORK/headers" | grep -q 'HttpOnly; SameSite=Strict; Max-Age=' ||
  fail "cookie flags: $(grep -i set-cookie "$WORK/headers")"
session=(-H "Cookie: goldroot_session=$cookie")
[ "$(status "${session[@]}" "$SERVER_URL/api/v1/hosts")" = 200 ] || fail "a read with the session"
[ "$(status "${session[@]}" -X POST -H 'Content-Type: application/json' --data '{"mode":""}' \
      "$SERVER_URL/api/v1/labs/lab3/mode")" = 403 ] || fail "a session change without Origin"
[ "$(status "${session[@]}" -X POST -H 'Content-Type: application/json' -H "Origin: $SERVER_URL" \
      --data '{"mode":""}' "$SERVER_URL/api/v1/labs/lab3/mode")" = 200 ] ||
  fail "a session change from the dashboard's origin: $(cat "$WORK/body")"
[ "$(status "${session[@]}" -X DELETE -H 'Content-Type: application/json' -H "Origin: $SERVER_URL" \
      "$SERVER_URL/api/v1/session")" = 200 ] || fail "logout"
[ "$(status "${session[@]}" "$SERVER_URL/api/v1/hosts")" = 401 ] || fail "the session after logout"
ok "the token works, a session works from its own origin only, and ends at logout"

# --- framing ------------------------------------------------------------------
curl -s -D "$WORK/headers" -o /dev/null "$SERVER_URL/"
for header in "X-Frame-Options: DENY" "X-Content-Type-Options: nosniff" \
              "Referrer-Policy: no-referrer" "Content-Security-Policy: default-src 'self'; frame-ancestors 'none'"; do
  grep -qiF "$header" "$WORK/headers" || fail "the page lacks '$header'"
done
ok "the dashboard cannot be framed (CSP frame-ancestors, X-Frame-Options)"

# --- the audit log -------------------------------------------------------------
[ "$(stat -c %a "$audit")" = 600 ] || fail "audit.log mode $(stat -c %a "$audit")"
grep -qF "$admin" "$audit" && fail "the admin token is in the audit log"
python3 - "$audit" <<'PY' || fail "audit log: $(cat "$audit")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
for line in lines:
    assert {"time", "who", "from", "method", "path", "status"} <= set(line), line
def has(**want):
    return any(all(line.get(k) == v for k, v in want.items()) for line in lines)
assert has(who="admin token", path="/api/v1/labs/lab3/mode", status=200, what='{"mode":"reset"}', **{"from": "127.0.0.1"})
assert has(path="/api/v1/labs/lab3/mode", status=415)
assert has(path="/api/v1/labs/lab3/mode", status=403)
assert has(path="/api/v1/hosts", status=421)
assert has(path="/api/v1/session", status=403)  # the wrong login
assert has(path="/api/v1/session", what="login", status=200)
assert has(path="/api/v1/session", what="logout", status=200)
sessions = [l for l in lines if l["who"].startswith("session ") and l["path"] == "/api/v1/labs/lab3/mode"]
assert sessions and sessions[0]["status"] == 200, sessions
PY
ok "the audit log names who, from where, what and the answer, and never the token"
finish

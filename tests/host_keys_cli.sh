#!/usr/bin/env bash
# Host keys as an admin handles them (#14): enroll a key given as a PEM
# file or the one a host presented (with its key id checked), `host keys`
# and its JSON with pending and refused keys, `host show`, rekey, a removed
# and re-added host never getting its old key back, the lab's and the
# site's enrolment policy, and bad input in one sentence. What a booting
# host presents is recorded by the boot server; here it is written into the
# inventory directly.
source "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || require "openssl"

gr init >/dev/null
gr network add 10.1.0.0/24 >/dev/null
gr lab add lab1 --network 10.1.0.0/24 >/dev/null
gr host add pc01 --mac 52:54:00:00:00:01 --ip 10.1.0.10 --lab lab1 >/dev/null
gr host add pc02 --mac 52:54:00:00:00:02 >/dev/null

# new_key NAME: NAME.pem (private), NAME.pub (public); prints the key id
# (the first 16 hex digits of the SHA-256 of the raw public key).
new_key() {
  openssl genpkey -algorithm ed25519 -out "$WORK/$1.pem" 2>/dev/null
  openssl pkey -in "$WORK/$1.pem" -pubout -out "$WORK/$1.pub"
  openssl pkey -pubin -in "$WORK/$1.pub" -outform DER | tail -c 32 | sha256sum | cut -c1-16
}
raw_key() { openssl pkey -pubin -in "$WORK/$1.pub" -outform DER | tail -c 32 | base64; }
# sql STATEMENT [ARGS…]: runs one statement on the site's inventory.
sql() {
  python3 - "$GOLDROOT_SITE/goldroot.db" "$@" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute(sys.argv[2], sys.argv[3:])
db.commit()
PY
}
# present HOST KEYNAME ADDRESS: records KEYNAME as HOST's pending key, as the
# boot server does under the admin policy.
present() {
  sql "INSERT OR IGNORE INTO host_keys (host_id) SELECT id FROM hosts WHERE name = ?" "$1"
  sql "UPDATE host_keys SET pending_key = ?, pending_at = 1764864000, pending_from = ?
       WHERE host_id = (SELECT id FROM hosts WHERE name = ?)" "$(raw_key "$2")" "$3" "$1"
}
keys_json() { gr host keys --json > "$WORK/keys.json"; }

# -- nothing to enroll yet
expect_fail "enroll before the host presented a key" gr host enroll pc02
[ "$LAST_ERROR" = "error: host pc02 has presented no key yet; boot it (goldroot-boot shows its key id on screen) or give its public key with --key FILE" ] \
  || fail "$LAST_ERROR"
expect_fail "enroll of an unknown host" gr host enroll pc09
[ "$LAST_ERROR" = "error: there is no host pc09" ] || fail "$LAST_ERROR"
echo "not a key" > "$WORK/junk.pub"
expect_fail "enroll of a file that is no key" gr host enroll pc01 --key "$WORK/junk.pub"
echo "$LAST_ERROR" | grep -q "^error: $WORK/junk.pub is not an ed25519 public key in PEM form" || fail "$LAST_ERROR"

# -- enroll --key, with a wrong and the right --key-id
id1=$(new_key one)
expect_fail "enroll with a wrong key id" gr host enroll pc01 --key "$WORK/one.pub" --key-id 0123456789abcdef
[ "$LAST_ERROR" = "error: the key given is $id1, not 0123456789abcdef; nothing was enrolled" ] || fail "$LAST_ERROR"
gr host keys | grep -q "^pc01 *none " || fail "a refused enroll enrolled: $(gr host keys)"
out=$(gr host enroll pc01 --key "$WORK/one.pub" --key-id "$id1")
[ "$out" = "enrolled pc01's key $id1" ] || fail "enroll said: $out"
ok "enroll --key checks --key-id and says which key it enrolled"

# -- a pending key, enrolled by the admin after checking its id
id2=$(new_key two)
present pc02 two 10.1.0.77
gr host keys | grep -q "^pc02 *pending *- *- *$id2 at 2025-12-04 16:00 from 10.1.0.77" \
  || fail "pending key not listed: $(gr host keys)"
expect_fail "enroll of the pending key with another id" gr host enroll pc02 --key-id "$id1"
[ "$LAST_ERROR" = "error: host pc02's pending key is $id2, not $id1; nothing was enrolled" ] || fail "$LAST_ERROR"
[ "$(gr host enroll pc02 --key-id "$id2")" = "enrolled pc02's key $id2" ] || fail "enrolling the pending key"
ok "the pending key is enrolled once its id matches"

# -- a refused key stands out, in the table, the JSON and host show
id3=$(new_key three)
sql "UPDATE host_keys SET refused_key = ?, refused_at = 1764864060, refused_from = '10.1.0.66'
     WHERE host_id = (SELECT id FROM hosts WHERE name = 'pc01')" "$(raw_key three)"
gr host keys > "$WORK/keys.txt"
grep -q "^pc01 *enrolled *$id1 *admin, persistent .* !! $id3 from 10.1.0.66 at 2025-12-04 16:01$" "$WORK/keys.txt" \
  || fail "refusal not on pc01's line: $(cat "$WORK/keys.txt")"
grep -q "^!! another key than the enrolled one was presented for pc01 (REFUSED)" "$WORK/keys.txt" \
  || fail "no warning under the table: $(cat "$WORK/keys.txt")"
gr host show pc01 | grep -q "^refused:  !! $id3 from 10.1.0.66" || fail "host show: $(gr host show pc01)"
gr host show pc01 | grep -q "^key:      $id1 (admin, persistent" || fail "host show: $(gr host show pc01)"
keys_json
python3 - "$WORK/keys.json" "$id1" "$id2" "$id3" <<'PY' || fail "host keys --json: $(cat "$WORK/keys.json")"
import json, sys
keys = {k["host"]: k for k in json.load(open(sys.argv[1]))}
id1, id2, id3 = sys.argv[2:]
assert sorted(keys) == ["pc01", "pc02"], keys
pc01, pc02 = keys["pc01"], keys["pc02"]
assert (pc01["state"], pc01["key_id"], pc01["enrolled_by"], pc01["persistent"]) == ("enrolled", id1, "admin", True), pc01
assert pc01["refused"] == {"key_id": id3, "from": "10.1.0.66", "at": "2025-12-04T16:01:00Z"}, pc01
assert pc01["pending"] is None and pc01["policy"] == "admin", pc01
assert (pc02["state"], pc02["key_id"], pc02["refused"]) == ("enrolled", id2, None), pc02
PY
gr host show pc01 --json | python3 -c "
import json, sys; k = json.load(sys.stdin)['key']
assert k['key_id'] == '$id1' and k['refused']['key_id'] == '$id3', k" || fail "host show --json"
ok "a refused key stands out in host keys, its JSON and host show"

# -- rekey revokes: the old key is never enrolled again, for any host
out=$(gr host rekey pc01)
[ "$out" = "revoked pc01's key $id1
pc01 will present a new key at its next boot; enroll it then with 'goldroot host enroll pc01'" ] \
  || fail "rekey said: $out"
gr host keys | grep -q "^pc01 *none " || fail "rekey left a key: $(gr host keys)"
for host in pc01 pc02; do
  expect_fail "enroll of a revoked key for $host" gr host enroll "$host" --key "$WORK/one.pub"
  [ "$LAST_ERROR" = "error: key $id1 was revoked and is never enrolled again; host $host must make a new one" ] \
    || fail "$LAST_ERROR"
done
[ "$(gr host rekey pc01)" = "pc01 has no key enrolled or pending; nothing to revoke" ] || fail "second rekey"
ok "rekey revokes the key for every host"

# -- enrolling over an enrolled key revokes the old one; a key is one host's
id4=$(new_key four)
out=$(gr host enroll pc02 --key "$WORK/four.pub")
[ "$out" = "enrolled pc02's key $id4; its old key $id2 is revoked" ] || fail "re-enroll said: $out"
expect_fail "enroll of another host's key" gr host enroll pc01 --key "$WORK/four.pub"
[ "$LAST_ERROR" = "error: key $id4 is already enrolled for host pc02; a key belongs to one host" ] || fail "$LAST_ERROR"
[ "$(gr host enroll pc02 --key "$WORK/four.pub")" = "pc02's key $id4 is already enrolled" ] || fail "enroll twice"
ok "enrolling a new key revokes the old one, and one key serves one host"

# -- a removed and re-added host does not get its key back
gr host rm pc02 >/dev/null
gr host add pc02 --mac 52:54:00:00:00:02 >/dev/null
gr host keys | grep -q "^pc02 *none " || fail "re-added pc02 has a key: $(gr host keys)"
expect_fail "enroll of a removed host's key" gr host enroll pc02 --key "$WORK/four.pub"
echo "$LAST_ERROR" | grep -q "key $id4 was revoked" || fail "$LAST_ERROR"
ok "removing a host revokes its key"

# -- the enrolment policy: the lab's, else the site's
gr lab add lab2 --enroll port >/dev/null
gr lab list | grep -q "^lab1 .* admin\* " || fail "lab1 does not inherit admin: $(gr lab list)"
gr lab list | grep -q "^lab2 .* port " || fail "lab2 is not port: $(gr lab list)"
gr site set enroll=first-use | grep -qx "enroll=first-use" || fail "site set enroll"
[ "$(gr site show | grep '^enroll=')" = "enroll=first-use" ] || fail "site show: $(gr site show)"
gr lab list | grep -q "^lab1 .* first-use\* " || fail "lab1 does not follow the site: $(gr lab list)"
gr host show pc01 | grep -qx "enroll:   first-use (the site)" || fail "host show: $(gr host show pc01)"
gr lab set lab1 enroll=port >/dev/null
gr host show pc01 | grep -qx "enroll:   port (lab lab1)" || fail "host show: $(gr host show pc01)"
new_key five >/dev/null
gr host enroll pc01 --key "$WORK/five.pub" >/dev/null
[ "$(gr host rekey pc01 | tail -n 1)" = "pc01 will present a new key at its next boot; policy port of lab lab1 enrolls it then" ] \
  || fail "rekey under lab1's policy: $(gr host rekey pc01)"
gr lab list --json | python3 -c "
import json, sys; labs = {l['name']: l for l in json.load(sys.stdin)}
assert (labs['lab1']['enroll'], labs['lab1']['effective_enroll']) == ('port', 'port'), labs
assert (labs['lab2']['enroll'], labs['lab2']['effective_enroll']) == ('port', 'port'), labs" \
  || fail "lab list --json: $(gr lab list --json)"
gr lab set lab1 enroll=inherit >/dev/null
gr lab list --json | python3 -c "
import json, sys; labs = {l['name']: l for l in json.load(sys.stdin)}
assert (labs['lab1']['enroll'], labs['lab1']['effective_enroll']) == (None, 'first-use'), labs" \
  || fail "enroll=inherit: $(gr lab list --json)"
gr host keys --json | python3 -c "
import json, sys; keys = {k['host']: k for k in json.load(sys.stdin)}
assert keys['pc01']['policy'] == 'first-use', keys" || fail "host keys --json policy"
ok "a lab's policy wins over the site's; inherit restores the site's"

# -- bad policies: one sentence each, nothing changed
expect_fail "site set enroll=tofu" gr site set enroll=tofu
[ "$LAST_ERROR" = "error: unknown enrolment policy 'tofu'; choose admin, first-use or port" ] || fail "$LAST_ERROR"
expect_fail "lab set enroll=nope" gr lab set lab2 enroll=nope
[ "$LAST_ERROR" = "error: lab lab2: unknown enrolment policy 'nope'; choose admin, first-use or port" ] || fail "$LAST_ERROR"
expect_fail "lab add --enroll nope" gr lab add lab3 --enroll nope
gr lab list | grep -q "^lab3 " && fail "a lab with a bad policy was added"
gr lab list | grep -q "^lab2 .* port " || fail "a bad lab set changed lab2: $(gr lab list)"
[ "$(gr site show | grep '^enroll=')" = "enroll=first-use" ] || fail "a bad site set changed the site"
ok "bad policy values are refused in one sentence"

finish

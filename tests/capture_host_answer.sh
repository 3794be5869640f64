#!/usr/bin/env bash
# `goldroot capture --host` against a simulated agent, without root or a
# server: the test plays the agent's part in the database (its last report,
# then its upload-upper result) and the server's (the stored upload). A
# malformed result is one sentence naming what is wrong and leaves no upload
# behind; an upload that is not what the host says it sent is refused and
# removed; a good one is captured and its security-relevant changes marked,
# and without a terminal or --yes the channel stays where it was.
# (tests/capture_host_root.sh runs the real agent and server.)
source "$(dirname "$0")/lib.sh"

# sql QUERY [PARAMETER…]: runs QUERY on the site's database, prints rows.
sql() {
  python3 - "$GOLDROOT_SITE/goldroot.db" "$@" <<'EOF'
import sqlite3, sys
with sqlite3.connect(sys.argv[1], timeout=30) as db:
    for row in db.execute(sys.argv[2], sys.argv[3:]):
        print("|".join(map(str, row)))
EOF
}

gr init >/dev/null
mkdir -p "$WORK/v1/etc/sudoers.d" "$WORK/v1/usr/local/bin"
echo "welcome" >"$WORK/v1/etc/motd"
gold=$(gr image import "$WORK/v1" --name lab -m v1 | tail -1)
gr channel set gold lab >/dev/null
gr channel set test lab >/dev/null
gr host add pc01 --mac 52:54:00:00:00:01 --mode maintenance >/dev/null
uploads=$GOLDROOT_SITE/uploads
mkdir -p "$uploads"

# The agent's last report: pc01 is up, in maintenance mode, on gold.
report() {
  local now
  now=$(date +%s)
  sql "INSERT OR REPLACE INTO agent_status (host_id, boot_id, sequence, sent_at, received_at, report)
       SELECT id, 'boot-1', 1, ?, ?, ? FROM hosts WHERE name = 'pc01'" "$now" "$now" \
    "{\"version\": 1, \"host\": \"pc01\", \"boot_id\": \"boot-1\", \"sequence\": 1,
      \"sent_at\": $now, \"commit\": \"$gold\", \"mode\": \"maintenance\", \"interval_seconds\": 600}"
}

# answer OUTPUT UPLOAD [ARGS…]: runs capture --host (stdin not a terminal),
# and answers its request as an agent would: UPLOAD (a file, or "") is put
# where the server stores uploads, the result is "done" with OUTPUT. Sets
# $status; stdout and stderr are in $WORK/out and $WORK/err.
answer() {
  local output=$1 upload=$2 id="" pid
  shift 2
  report
  gr capture --host pc01 --wait 30 "$@" </dev/null >"$WORK/out" 2>"$WORK/err" &
  pid=$!
  for _ in $(seq 1 300); do
    id=$(sql "SELECT id FROM agent_commands WHERE command = 'upload-upper' AND status = 'pending'")
    [ -n "$id" ] && break
    sleep 0.1
  done
  [ -n "$id" ] || fail "capture --host queued no upload request: $(cat "$WORK/err")"
  [ -z "$upload" ] || cp "$upload" "$uploads/$id.tar"
  sql "UPDATE agent_commands SET status = 'done', output = ? WHERE id = ?" "$output" "$id"
  status=0
  wait "$pid" || status=$?
}

# refused WHAT: the capture failed in one sentence, leaving no upload and no image.
refused() {
  [ "$status" != 0 ] || fail "$1: capture --host succeeded"
  [ "$(grep -c . "$WORK/err")" = 1 ] && grep -q '^error: ' "$WORK/err" ||
    fail "$1: not one error line: $(cat "$WORK/err")"
  [ -z "$(ls -A "$uploads")" ] || fail "$1: left $(ls "$uploads") behind"
  ! gr image show refused >/dev/null 2>&1 || fail "$1: an image was made"
}

junk=$WORK/junk.tar
head -c 10240 /dev/urandom >"$junk"
junk_sha=$(sha256sum "$junk" | cut -d' ' -f1)

answer '{"sha256": 12345, "bytes": 10240}' "$junk" --name refused
refused "sha256 as a number"
grep -q "malformed result (\"sha256\" is not a string)" "$WORK/err" || fail "$(cat "$WORK/err")"
answer "{\"sha256\": \"$junk_sha\", \"bytes\": \"10240\"}" "$junk" --name refused
refused "size as a string"
grep -q "\"bytes\" is not a whole number" "$WORK/err" || fail "$(cat "$WORK/err")"
answer '{"bytes": 10240}' "$junk" --name refused
refused "no sha256"
grep -q "\"sha256\" is missing" "$WORK/err" || fail "$(cat "$WORK/err")"
answer $'\x1b[2Jdone' "$junk" --name refused
refused "not JSON"
grep -q "it is not JSON" "$WORK/err" || fail "$(cat "$WORK/err")"
grep -q $'\x1b' "$WORK/err" && fail "the host's escape sequence reached the terminal"
answer "{\"sha256\": \"$junk_sha\", \"bytes\": 10240, \"changed_while_read\": [\"/x\", 7]}" "$junk" \
  --name refused
refused "a path that is a number"
grep -q "\"changed_while_read\" holds something not a path" "$WORK/err" || fail "$(cat "$WORK/err")"
ok "a malformed upload result is one sentence naming the field, and the upload is removed"

answer "{\"sha256\": \"$(printf other | sha256sum | cut -d' ' -f1)\", \"bytes\": 10240}" "$junk" \
  --name refused
refused "an upload that differs from the host's sha256"
grep -q "is not what pc01 says it sent.*removed and nothing was captured" "$WORK/err" ||
  fail "$(cat "$WORK/err")"
answer "{\"sha256\": \"$junk_sha\", \"bytes\": 10241}" "$junk" --name refused
refused "an upload of another size"
answer "{\"sha256\": \"$junk_sha\", \"bytes\": 10240}" "" --name refused
refused "no upload at all"
grep -q "says it uploaded, but there is no upload at .*; nothing was captured$" "$WORK/err" || fail "$(cat "$WORK/err")"
ok "an upload that is not what the host says it sent is refused and removed"

# A good upload: an upper (as the agent's tar) that adds a setuid copy of a
# shell and a sudoers.d file, and edits the motd. Owned by whoever runs the
# test, so that it unpacks without root.
python3 - "$WORK/upper.tar" <<'EOF'
import io, os, sys, tarfile
uid, gid = os.getuid(), os.getgid()
def member(name, kind, mode, data=b""):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.mtime = kind, mode, uid, gid, 1795000000
    info.size = len(data)
    return info, io.BytesIO(data) if data else None
with open("/bin/sh", "rb") as shell:
    sh = shell.read()
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as tar:
    for name, kind, mode, data in [
            (".", tarfile.DIRTYPE, 0o755, b""),
            ("etc", tarfile.DIRTYPE, 0o755, b""),
            ("etc/motd", tarfile.REGTYPE, 0o644, b"welcome, edited\n"),
            ("etc/sudoers.d", tarfile.DIRTYPE, 0o755, b""),
            ("etc/sudoers.d/student", tarfile.REGTYPE, 0o440, b"student ALL=(ALL) NOPASSWD: ALL\n"),
            ("usr", tarfile.DIRTYPE, 0o755, b""),
            ("usr/local", tarfile.DIRTYPE, 0o755, b""),
            ("usr/local/bin", tarfile.DIRTYPE, 0o755, b""),
            ("usr/local/bin/rootsh", tarfile.REGTYPE, 0o4755, sh)]:
        tar.addfile(*member(name, kind, mode, data))
EOF
good="{\"sha256\": \"$(sha256sum "$WORK/upper.tar" | cut -d' ' -f1)\", \"bytes\": $(stat -c %s "$WORK/upper.tar"), \"entries\": 9}"
test_before=$(gr channel list --json | python3 -c 'import json,sys; print({c["name"]: c["commit"] for c in json.load(sys.stdin)}["test"])')
answer "$good" "$WORK/upper.tar" --name maintained
[ "$status" != 0 ] || fail "without a terminal or --yes, capture --host exited 0: $(cat "$WORK/err")"
commit=$(tail -1 "$WORK/out")
[[ "$commit" =~ ^[0-9a-f]{64}$ ]] || fail "no commit id on stdout: $(cat "$WORK/out")"
grep -Eq "^  ! A /usr/local/bin/rootsh  \[setuid (root|uid [0-9]+)\]$" "$WORK/err" ||
  fail "the setuid shell is not marked: $(cat "$WORK/err")"
grep -q "^  ! A /etc/sudoers.d/student  \[sudoers\]$" "$WORK/err" ||
  fail "the sudoers file is not marked: $(cat "$WORK/err")"
grep -q "^    M /etc/motd$" "$WORK/err" || fail "the motd is not listed as an ordinary change: $(cat "$WORK/err")"
[ "$(grep -n '! A' "$WORK/err" | head -1 | cut -d: -f1)" -lt "$(grep -n 'M /etc/motd' "$WORK/err" | cut -d: -f1)" ] ||
  fail "the security-relevant changes are not listed first: $(cat "$WORK/err")"
ok "capture --host marks the setuid shell and the sudoers file, before the other changes"

grep -q "^error: channel test was not moved.*no terminal.*'goldroot channel set test $commit' moves the channel$" \
  "$WORK/err" || fail "no sentence on how to move the channel: $(tail -1 "$WORK/err")"
[ "$(gr channel list --json | python3 -c 'import json,sys; print({c["name"]: c["commit"] for c in json.load(sys.stdin)}["test"])')" = "$test_before" ] ||
  fail "test moved without a yes"
[ "$(gr image show maintained --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["parents"][0])')" = "$gold" ] ||
  fail "the capture is not on the commit pc01 booted"
[ -z "$(ls -A "$uploads")" ] || fail "uploads left behind: $(ls "$uploads")"
ok "without a terminal or --yes the channel stays, the image is kept, and the command says how to move it"

answer "$good" "$WORK/upper.tar" --name maintained --yes
[ "$status" = 0 ] || fail "capture --host --yes: $(cat "$WORK/err")"
[ "$(gr channel list --json | python3 -c 'import json,sys; print({c["name"]: c["commit"] for c in json.load(sys.stdin)}["test"])')" = "$(tail -1 "$WORK/out")" ] ||
  fail "--yes did not move test"
gr channel history test | grep -q "capture --host pc01" || fail "history: $(gr channel history test)"
ok "with --yes the channel moves without a question"

# The host says which commit it booted: when that is not what its channel
# points at now, the summary's changes are not all a promote would bring.
echo "v2" >"$WORK/v1/etc/issue"
newer=$(gr image import "$WORK/v1" --name lab -m v2 | tail -1)
gr channel set gold "$newer" >/dev/null
answer "$good" "$WORK/upper.tar" --name elsewhere --channel ""
[ "$status" = 0 ] || fail "capture --host --channel '': $(cat "$WORK/err")"
grep -q "^warning: pc01 is not on channel gold (${newer:0:12}) but on ${gold:0:12}.*goldroot image diff ${newer:0:12} " \
  "$WORK/err" || fail "no warning that pc01 is not on gold: $(cat "$WORK/err")"
ok "a capture on another commit than the host's channel says so"
finish

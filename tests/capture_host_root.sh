#!/usr/bin/env bash
# The maintenance workflow on loopback, with a simulated host: a real
# overlay mount (redirect_dir, metacopy) over a checkout of gold, changed
# through its merged view, and the real goldroot-agent reporting it to a
# real `goldroot serve`. `goldroot capture --host` has the agent upload the
# live upper, captures it onto the commit the host booted, exports it and
# moves `test`; the captured tree is exactly the merged view; `image diff
# gold test` shows what a promote would change. Also: who may upload, and
# the refusals (not in maintenance, never reported, no server).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"
require_root

gr init >/dev/null
v1=$WORK/v1
mkdir -p "$v1/etc" "$v1/opt/old" "$v1/srv/app" "$v1/usr/bin"
echo "proc /proc proc defaults 0 0" >"$v1/etc/fstab"
echo "welcome" >"$v1/etc/motd"
echo "uninitialized" >"$v1/etc/machine-id"
echo x >"$v1/opt/old/x"
echo y >"$v1/srv/app/y"
head -c 300000 /dev/urandom >"$v1/usr/bin/tool"
chmod 755 "$v1/usr/bin/tool"
gold=$(gr image import "$v1" --name lab -m "v1")
gr image export lab >/dev/null
gr channel set gold lab >/dev/null
gr host add pc01 --mac 52:54:00:00:00:01 --mode maintenance >/dev/null
gr host add pc02 --mac 52:54:00:00:00:02 >/dev/null
start_server

# pc01: maintenance, booted gold, an overlay root whose upper the agent reads.
CLIENT_COMMIT=$gold CLIENT_MODE=maintenance make_client pc01 52:54:00:00:00:01
client=$WORK/clients/pc01
rm -rf "$client/lower" "$client/upper"
gr image checkout lab "$client/lower" >/dev/null
mkdir -p "$client/upper" "$client/work" "$client/merged"
mount -t overlay overlay -o "lowerdir=$client/lower,upperdir=$client/upper,workdir=$client/work,redirect_dir=on,metacopy=on" \
  "$client/merged" || fail "mounting the client's overlay"
on_exit "umount $client/merged 2>/dev/null"
m=$client/merged
echo "installed by the admin" >"$m/etc/added"
echo "edited" >>"$m/etc/motd"
rm "$m/etc/fstab"
rm -r "$m/opt/old" && mkdir "$m/opt/old" && echo new >"$m/opt/old/fresh"
mv "$m/srv/app" "$m/srv/app2"
chmod 700 "$m/usr/bin/tool"
ln "$m/etc/added" "$m/etc/added.link"
ln -s ../etc/motd "$m/srv/motd-link"
setfattr -n user.note -v hello "$m/etc/motd"
mkdir -p "$m/var/lib/app" && head -c 2000000 /dev/urandom >"$m/var/lib/app/data"
# Boot noise, on the ignore list: never part of the golden image.
echo "4f1e0c0ffee" >"$m/etc/machine-id"
mkdir -p "$m/var/log" && echo "booted" >"$m/var/log/boot.log"

agent_command pc01
# A long interval: the server has a maintenance host report every few
# seconds, so the capture does not wait for the agent's own schedule.
"${AGENT_COMMAND[@]}" --interval 600 >"$WORK/agent.log" 2>&1 &
agent_pid=$!
on_exit "kill $agent_pid 2>/dev/null"
for _ in $(seq 1 100); do gr status --json | grep -q '"up"' && break; sleep 0.1; done

started=$(date +%s)
gr capture --host pc01 --name maintained -m "admin's changes" --wait 30 --yes >"$WORK/capture.out" 2>"$WORK/capture.err" ||
  fail "capture --host: $(cat "$WORK/capture.err")"
echo "capture --host took $(($(date +%s) - started)) s with an agent interval of 600 s"
commit=$(tail -1 "$WORK/capture.out")
[ "${#commit}" = 64 ] || fail "capture printed '$commit', not a commit id"
grep -q "received .* from pc01" "$WORK/capture.err" || fail "no upload line: $(cat "$WORK/capture.err")"
[ "$(gr channel list --json | python3 -c 'import json,sys; print({c["name"]: c["commit"] for c in json.load(sys.stdin)}["test"])')" = "$commit" ] ||
  fail "test does not point at the capture: $(gr channel list)"
[ -f "$GOLDROOT_SITE/exports/$commit.erofs" ] || fail "the capture was not exported"
gr channel history test | grep -q "capture --host pc01" || fail "history: $(gr channel history test)"
[ "$(gr image show maintained --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["parents"][0])')" = "$gold" ] ||
  fail "the capture's parent is not the commit pc01 booted"
[ -z "$(ls -A "$GOLDROOT_SITE/uploads")" ] || fail "uploads left behind: $(ls "$GOLDROOT_SITE/uploads")"
grep -q "uploaded .* bytes, sha256" "$WORK/agent.log" || fail "agent log: $(cat "$WORK/agent.log")"
ok "capture --host: the agent uploads the live upper; the commit is exported and becomes test"

gr image checkout maintained "$WORK/captured" >/dev/null
rsync -aHAXnci --numeric-ids --delete --exclude /var/log --exclude /etc/machine-id \
  "$m/" "$WORK/captured/" >"$WORK/rsync.out"
[ ! -s "$WORK/rsync.out" ] || fail "the capture differs from the merged view: $(head "$WORK/rsync.out")"
diff -r -x log -x machine-id "$m" "$WORK/captured" >/dev/null || fail "diff -r sees a difference"
ok "the captured tree is the merged view, byte for byte and metadata for metadata"
[ "$(cat "$WORK/captured/etc/machine-id")" = uninitialized ] || fail "the host's machine-id was captured"
[ ! -e "$WORK/captured/var/log" ] || fail "the host's logs were captured"
grep -q "left out 2 ignored path(s).*/etc/machine-id" "$WORK/capture.err" || fail "$(cat "$WORK/capture.err")"
ok "boot noise on the ignore list (machine id, logs) is left out of the capture"

gr image diff gold test >"$WORK/diff.out"
for line in "A /etc/added" "M /etc/motd" "D /etc/fstab" "D /opt/old/x" "A /opt/old/fresh" \
            "D /srv/app" "A /srv/app2" "m /usr/bin/tool" "A /var/lib/app/data"; do
  grep -q "^$line\$" "$WORK/diff.out" || fail "image diff gold test lacks '$line': $(cat "$WORK/diff.out")"
done
ok "image diff gold test shows what the promote would change"

# Uploads: only for an open upload-upper command, signed by its host.
id=$(db "SELECT id FROM agent_commands WHERE command = 'upload-upper'")
# The signature an agent sends with upload ID: KEY over its upload statement.
sign_upload() { printf 'goldroot upload-upper %s' "$2" >"$WORK/statement"; sign_report "$1" "$WORK/statement"; }
upload() { curl -s -o "$WORK/body" -w '%{http_code}' --data-binary @/etc/hostname "$@"; }
[ "$(upload "$SERVER_URL/api/v1/uploads/$id")" = 401 ] || fail "unsigned upload: $(cat "$WORK/body")"
make_host_key "$WORK/other.key"  # a host key, but not pc01's
[ "$(upload -H "X-Goldroot-Signature: $(sign_upload "$WORK/other.key" "$id")" "$SERVER_URL/api/v1/uploads/$id")" = 403 ] ||
  fail "another key's upload: $(cat "$WORK/body")"
[ "$(upload -H "X-Goldroot-Signature: $(sign_upload "$client/host.key" "$id")" "$SERVER_URL/api/v1/uploads/$id")" = 409 ] ||
  fail "a second upload of a finished request: $(cat "$WORK/body")"
[ "$(upload "$SERVER_URL/api/v1/uploads/99999")" = 404 ] || fail "an upload nobody asked for"
[ -z "$(ls -A "$GOLDROOT_SITE/uploads")" ] || fail "a refused upload left a file"
ok "uploads are refused unless signed with the key of the host of an open request"

# What matters is marked: a setuid-root copy of a shell and a sudoers.d file
# added on the maintenance host. With no terminal to ask on and no --yes,
# test stays where it was and the capture is kept.
channel_commit() {
  gr channel list --json | python3 -c 'import json,sys; print({c["name"]: c["commit"] for c in json.load(sys.stdin)}[sys.argv[1]])' "$1"
}
cp /bin/sh "$m/usr/bin/rootsh" && chmod 4755 "$m/usr/bin/rootsh"
mkdir -p "$m/etc/sudoers.d" && echo "student ALL=(ALL) NOPASSWD: ALL" >"$m/etc/sudoers.d/student"
test_before=$(channel_commit test)
status=0
gr capture --host pc01 --name marked --wait 30 </dev/null >"$WORK/marked.out" 2>"$WORK/marked.err" || status=$?
[ "$status" != 0 ] || fail "without a terminal or --yes, capture --host exited 0: $(cat "$WORK/marked.err")"
grep -q "^  ! A /usr/bin/rootsh  \[setuid root\]$" "$WORK/marked.err" ||
  fail "the setuid-root shell is not marked: $(cat "$WORK/marked.err")"
grep -q "^  ! A /etc/sudoers.d/student  \[sudoers\]$" "$WORK/marked.err" ||
  fail "the sudoers file is not marked: $(cat "$WORK/marked.err")"
! grep -q "! .*/etc/motd" "$WORK/marked.err" || fail "the motd is marked: $(cat "$WORK/marked.err")"
marked=$(tail -1 "$WORK/marked.out")
[ "${#marked}" = 64 ] || fail "capture printed '$marked', not a commit id"
[ "$(channel_commit test)" = "$test_before" ] || fail "test moved without a yes"
[ "$(gr image show marked --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["parents"][0])')" = "$gold" ] ||
  fail "the capture was not kept as image marked"
tail -1 "$WORK/marked.err" | grep -q "^error: .*'goldroot channel set test $marked' moves the channel$" ||
  fail "no sentence on how to move test: $(tail -1 "$WORK/marked.err")"
[ -z "$(ls -A "$GOLDROOT_SITE/uploads")" ] || fail "uploads left behind: $(ls "$GOLDROOT_SITE/uploads")"
rm "$m/usr/bin/rootsh" "$m/etc/sudoers.d/student"
ok "capture --host marks a setuid-root shell and a sudoers file; without a terminal or --yes test stays and the image is kept"

# The site's upload-max caps what an agent may send (the upper is ~2 MB).
gr site set upload-max=1M >/dev/null
gr site show | grep -qx "upload-max=1048576 (1.0 MiB)" || fail "site show: $(gr site show)"
expect_fail "capture --host of an upper beyond the site's upload-max" \
  gr capture --host pc01 --name toolarge --wait 30
echo "$LAST_ERROR" | grep -q "upload-max" || fail "the refusal does not name upload-max"
[ -z "$(ls -A "$GOLDROOT_SITE/uploads")" ] || fail "a refused upload left a file"
expect_fail "a malformed size" gr site set upload-max=lots
gr site set upload-max=16G >/dev/null
ok "an upload beyond the site's upload-max is refused (413) and leaves nothing"

expect_fail "capture --host of an unknown host" gr capture --host nosuch --name x
expect_fail "capture --host of a host that never reported" gr capture --host pc02 --name x
CLIENT_COMMIT=$gold make_client pc02 52:54:00:00:00:02
agent pc02 --once >/dev/null 2>&1 || fail "pc02's report"
expect_fail "capture --host of a host not in maintenance mode" gr capture --host pc02 --name x
echo "$LAST_ERROR" | grep -q "not in maintenance mode" || fail "the refusal does not say why"
stop_server
expect_fail "capture --host without a server to receive" gr capture --host pc01 --name x --wait 3
[ "$(db "SELECT status FROM agent_commands ORDER BY id DESC LIMIT 1")" = cancelled ] ||
  fail "the request that timed out is still open"
gr image show x >/dev/null 2>&1 && fail "a failed capture made an image"
ok "refused captures leave no image and no open request"
finish

#!/usr/bin/env bash
# `goldroot serve --tls-listen` end to end, as a lab PC sees it: the key's
# pin (what openssl computes from tls.crt) opens the TLS port and another
# pin does not; something else than TLS on it costs one log line; iPXE
# stays on plain HTTP while the kernel command line sends goldroot-boot to
# https; the goldroot initrd carries the pin; goldroot-boot from that initrd
# boots over https with it (its host key enrolled on first use, the signed
# layer) and hands it to goldroot-agent, whose report arrives over TLS; a client without the pin
# refuses https in one sentence; the dashboard cookie is Secure over TLS;
# and without --tls-listen serve warns that everything crosses in clear.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"
require_root
for tool in mkfs.erofs unshare cpio openssl curl; do
  command -v "$tool" >/dev/null || require "$tool"
done
grep -qw erofs /proc/filesystems || modprobe erofs 2>/dev/null || true
grep -qw erofs /proc/filesystems || require "erofs in the kernel"
[ -e /dev/loop-control ] || require "/dev/loop-control"
: "${GOLDROOT_BOOT:?GOLDROOT_BOOT must point at the goldroot-boot binary}"

gr init >/dev/null
src="$WORK/src"
mkdir -p "$src/etc" "$src/boot"
head -c 100000 /dev/urandom > "$src/boot/vmlinuz-6.1.0-28-amd64"
head -c 100000 /dev/urandom > "$src/boot/initrd.img-6.1.0-28-amd64"
echo "template" > "$src/etc/hostname"
gr image import "$src" --name lab >/dev/null
gr lab add lab3 --enroll first-use >/dev/null
gr host add pc01 --mac 52:54:00:aa:00:01 --lab lab3 >/dev/null
gr host add pc02 --mac 52:54:00:aa:00:02 --lab lab3 >/dev/null
mkdir -p "$GOLDROOT_SITE/layers/labs/lab3/etc"
echo "{{ hostname }}" > "$GOLDROOT_SITE/layers/labs/lab3/etc/hostname.tmpl"
gr channel set gold lab >/dev/null
gr image export lab >/dev/null

port=$(free_port)
tls_port=$(free_port)
url="http://127.0.0.1:$port"
tls_url="https://127.0.0.1:$tls_port"
"$GOLDROOT" serve --listen "127.0.0.1:$port" --tls-listen "127.0.0.1:$tls_port" \
  --tools-dir "$(dirname "$GOLDROOT_BOOT")" > "$WORK/serve.log" 2>&1 &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
# Up to 30 s: the other tests of a parallel run load the machine.
for _ in $(seq 1 300); do curl -sk -o /dev/null "$tls_url/" && break; sleep 0.1; done
curl -sk -o /dev/null "$tls_url/" || fail "no TLS listener: $(cat "$WORK/serve.log")"

pin="sha256//$(openssl x509 -in "$GOLDROOT_SITE/keys/tls.crt" -pubkey -noout |
  openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"
grep -qxF "TLS key pin $pin" "$WORK/serve.log" || fail "serve's pin is not openssl's $pin: $(cat "$WORK/serve.log")"
! grep -q "plain HTTP only" "$WORK/serve.log" || fail "a warning about plain HTTP with --tls-listen"
ok "serve prints its key's pin, the SHA-256 openssl computes from tls.crt"

admin=(-H "Authorization: Bearer $(cat "$GOLDROOT_SITE/keys/admin.token")")
code=$(curl -s -k --pinnedpubkey "$pin" -o "$WORK/body" -w '%{http_code}' "${admin[@]}" "$tls_url/api/v1/channels")
[ "$code" = 200 ] && grep -q '"gold"' "$WORK/body" || fail "the API over TLS: $code $(cat "$WORK/body")"
wrong="sha256//$(head -c 32 /dev/urandom | base64)"
status=0
curl -s -k --pinnedpubkey "$wrong" -o /dev/null "${admin[@]}" "$tls_url/api/v1/channels" || status=$?
[ "$status" = 90 ] || fail "curl with another pin: exit $status, not 90 (pinned key mismatch)"
ok "curl with the pin reaches the API over TLS; with another pin it stops before a request"

status=0
curl -s -o /dev/null "http://127.0.0.1:$tls_port/api/v1/channels" || status=$?
[ "$status" != 0 ] || fail "plain HTTP on the TLS port was answered"
code=$(curl -s -k --pinnedpubkey "$pin" -o /dev/null -w '%{http_code}' "$tls_url/")
[ "$code" = 200 ] || fail "the TLS port after garbage: $code"
[ "$(grep -c '"failure":"TLS handshake failed: http request"' "$GOLDROOT_SITE/logs/access.log")" = 1 ] ||
  fail "access log: $(grep failure "$GOLDROOT_SITE/logs/access.log")"
ok "plain HTTP on the TLS port costs one connection and one access log line"

script=$(curl -s "$url/boot/52:54:00:aa:00:01.ipxe")
echo "$script" | grep -q " goldroot.server=$tls_url goldroot.manifest=$tls_url/api/v1/boot/52:54:00:aa:00:01 " ||
  fail "the kernel command line does not send goldroot-boot to https: $script"
echo "$script" | grep -q "^kernel $url/objects/" || fail "iPXE's kernel is not plain HTTP: $script"
echo "$script" | grep -q "^chain --replace --autofree $url/boot/52:54:00:aa:00:01.ipxe" ||
  fail "iPXE's retry is not plain HTTP: $script"
ok "iPXE fetches kernel, initrds and retries over plain HTTP; goldroot-boot is sent to https"

initrd_url=$(echo "$script" | grep -o "$url/initrd/[0-9a-f]*\.img" | head -1)
curl -sf "$initrd_url" -o "$WORK/initrd.img" || fail "GET $initrd_url"
mkdir "$WORK/initrd"
(cd "$WORK/initrd" && zcat "$WORK/initrd.img" | cpio -idm --quiet) || fail "unpacking the initrd"
lib="$WORK/initrd/usr/lib/goldroot"
[ "$(cat "$lib/tls.pin")" = "$pin" ] || fail "the initrd's tls.pin: $(cat "$lib/tls.pin" 2>&1)"
ok "the goldroot initrd carries the pin beside site.pub"

# goldroot-boot and goldroot-agent as the initrd has them, in a private
# mount namespace, with nothing but the initrd's key and pin (and the host
# key kept in $WORK, as on a data partition).
mkdir -p "$WORK/units" "$WORK/agent-spool"
cat /proc/sys/kernel/random/uuid > "$WORK/boot_id"
: > "$WORK/utmp"
unshare -m --propagation private env ROOT="$WORK/root" RUN="$WORK/run" LIB="$lib" WORK="$WORK" \
  AGENT="$lib/bin/goldroot-agent" bash -euc '
  "$LIB/bin/goldroot-boot" --cmdline "$1" --site-key "$LIB/site.pub" --host-key "$WORK/host.key" \
    --root "$ROOT" --run-dir "$RUN" --agent-from "$LIB" --units-dir "$WORK/units"
  [ "$(cat "$ROOT/etc/hostname")" = pc01 ] || { echo "the layer did not arrive"; exit 1; }
  [ -s "$ROOT/etc/goldroot/host.key" ] || { echo "no host key for the agent"; exit 1; }
  cmp -s "$RUN/tls.pin" "$LIB/tls.pin" || { echo "the pin was not handed to the agent"; exit 1; }
  "$AGENT" --once --boot-state "$RUN/boot.json" --key-file "$ROOT/etc/goldroot/host.key" \
    --spool "$WORK/agent-spool" --boot-id-file "$WORK/boot_id" --utmp "$WORK/utmp" --dev "$WORK" \
    --ignore-file /nonexistent
  cp "$RUN/boot.json" "$WORK/boot.json"' _ \
  "boot=goldroot goldroot.server=$tls_url goldroot.mac=52:54:00:aa:00:01 goldroot.host=pc01 goldroot.mode=normal" \
  > "$WORK/boot.log" 2>&1 || fail "booting over https: $(cat "$WORK/boot.log")"
python3 - "$WORK/boot.json" "$tls_url" <<'PY' || fail "boot.json: $(cat "$WORK/boot.json")"
import json, sys
record = json.load(open(sys.argv[1]))
assert record["server"] == sys.argv[2] and record["manifest"]["url"].startswith(sys.argv[2]), record
assert record["image"]["url"].startswith(sys.argv[2]) and record["layer"]["url"].startswith(sys.argv[2]), record
assert record["layer"]["source"] == "server" and record["agent"] is True, record
PY
gr status --json > "$WORK/status.json"
python3 - "$WORK/status.json" <<'PY' || fail "status after the agent's report: $(cat "$WORK/status.json")"
import json, sys
hosts = {h["name"]: h for h in json.load(open(sys.argv[1]))}
assert hosts["pc01"]["state"] == "up", hosts["pc01"]
PY
ok "goldroot-boot from the initrd boots over https with its pin (challenge, manifest, image, signed layer); its agent reports over https"

# A client without the pin refuses https in one sentence.
status=0
unshare -m --propagation private "$GOLDROOT_BOOT" \
  --cmdline "boot=goldroot goldroot.server=$tls_url goldroot.mac=52:54:00:aa:00:01 goldroot.host=pc01" \
  --site-key "$lib/site.pub" --tls-pin "$WORK/no.pin" --host-key "$WORK/host.key" \
  --root "$WORK/root2" --run-dir "$WORK/run2" \
  2> "$WORK/boot2.err" || status=$?
[ "$status" = 3 ] || fail "goldroot-boot without a pin: exit $status: $(cat "$WORK/boot2.err")"
[ "$(grep -c . "$WORK/boot2.err")" = 1 ] &&
  grep -qx "goldroot-boot: error: .*refusing $tls_url/api/v1/[a-z0-9:/]* without the server's pinned key" "$WORK/boot2.err" ||
  fail "goldroot-boot without a pin says: $(cat "$WORK/boot2.err")"
SERVER_URL="$tls_url"
make_client pc02 52:54:00:aa:00:02
echo "$pin" > "$WORK/pin"
agent pc02 --once --tls-pin "$WORK/pin" || fail "the agent with the pin"
expect_fail "the agent without a pin" agent pc02 --once --tls-pin "$WORK/no.pin"
[ "$LAST_ERROR" = "error: refusing $tls_url without the server's pinned key ($WORK/no.pin is missing)" ] ||
  fail "the agent without a pin says: $LAST_ERROR"
echo "$wrong" > "$WORK/wrong.pin"
agent pc02 --once --tls-pin "$WORK/wrong.pin" 2> "$WORK/agent.err" && fail "the agent with another pin reported"
grep -q "pinned public key" "$WORK/agent.err" || fail "the agent with another pin says: $(cat "$WORK/agent.err")"
ok "without the pin goldroot-boot and the agent refuse https in one sentence; with another pin nothing is sent"

login() {
  curl -s "${@:2}" -D - -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"token\": \"$(cat "$GOLDROOT_SITE/keys/admin.token")\"}" "$1/api/v1/session" | tr -d '\r'
}
login "$tls_url" -k --pinnedpubkey "$pin" | grep -qi '^set-cookie: goldroot_session=.*; Secure;' ||
  fail "the session cookie over TLS is not Secure: $(login "$tls_url" -k --pinnedpubkey "$pin")"
login "$url" | grep -qi '^set-cookie: goldroot_session=' || fail "no session cookie over plain HTTP"
! login "$url" | grep -qi '^set-cookie: .*Secure' || fail "a Secure cookie over plain HTTP would never come back"
ok "the dashboard's session cookie is Secure when set over TLS"

plain_port=$(free_port)
"$GOLDROOT" serve --listen "127.0.0.1:$plain_port" > "$WORK/plain.log" 2>&1 &
plain=$!
on_exit "kill $plain 2>/dev/null; wait $plain 2>/dev/null"
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$plain_port/" && break; sleep 0.1; done
[ "$(grep -c "^goldroot serve: warning: plain HTTP only: host layers, reports, uploads and the admin's token cross the network in clear; add --tls-listen ADDRESS:PORT to serve them over TLS$" "$WORK/plain.log")" = 1 ] ||
  fail "serve without --tls-listen: $(cat "$WORK/plain.log")"
kill "$plain"
wait "$plain" 2>/dev/null || true
ok "serve without --tls-listen warns once that layers, reports, uploads and the admin's token cross in clear"
finish

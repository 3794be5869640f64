#!/usr/bin/env bash
# `goldroot serve` against a student with one machine on the lab network,
# while another machine keeps booting:
#   - 17,000 idle connections from one address: the server holds at most
#     256 of them (--max-connections-per-address), closes those that send no
#     head within 5 s, and answers every request of the victim meanwhile;
#   - 40 slow readers of a 4 MB host layer: the bundle is written once and
#     sent from one cache file to all of them, the victim still boots, and
#     a change of a layer file replaces the bundle;
#   - bodies the server must refuse before reading them (413/400 at once).
# Root: raises RLIMIT_NOFILE past 17,000 and reads the server's /proc fds.
# Figures (connections held, the victim's rate and latencies) are printed,
# never asserted on.
source "$(dirname "$0")/lib.sh"
require_root
python=/usr/bin/python3
helper="$(cd "$(dirname "$0")" && pwd)/server_limits.py"
[ -x "$python" ] || require "/usr/bin/python3"
"$python" -c 'import socket; socket.socket().bind(("127.0.0.2", 0))' 2>/dev/null ||
  require "binding to 127.0.0.2 (the loopback /8)"

gr init >/dev/null
mac=52:54:00:aa:00:01
gr host add pc01 --mac "$mac" >/dev/null
make_host_key "$WORK/pc01.key"
gr host enroll pc01 --key "$WORK/pc01.key.pub" >/dev/null
mkdir -p "$GOLDROOT_SITE/layers/base/opt" "$GOLDROOT_SITE/layers/base/etc"
head -c 4000000 /dev/urandom > "$GOLDROOT_SITE/layers/base/opt/big.bin"
echo "welcome" > "$GOLDROOT_SITE/layers/base/etc/motd"

# The server's layer cache goes under its $TMPDIR: give it one we can see.
mkdir -p "$WORK/tmp"
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
TMPDIR="$WORK/tmp" "$GOLDROOT" serve --listen "127.0.0.1:$port" > "$WORK/serve.log" 2>&1 &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
for _ in $(seq 1 100); do curl -s -o /dev/null "$url/boot/$mac.ipxe" && break; sleep 0.1; done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/boot/$mac.ipxe")" = 200 ] ||
  fail "goldroot serve did not start: $(cat "$WORK/serve.log")"
helper() { "$python" "$helper" "$@"; }

# --- one address, 17,000 idle connections ------------------------------------
echo "# 17,000 idle connections from 127.0.0.2; a victim on 127.0.0.1 fetches /boot/$mac.ipxe"
helper idle-flood 127.0.0.1 "$port" "/boot/$mac.ipxe" --source 127.0.0.2 --connections 17000 \
  --victim-seconds 4 --limit 256 --expect-head-timeout || fail "the idle flood (above)"
kill -0 "$server" 2>/dev/null || fail "the server died: $(tail -5 "$WORK/serve.log")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/boot/$mac.ipxe")" = 200 ] ||
  fail "the server no longer answers after the flood"
ok "17,000 idle connections from one address: at most 256 held, closed after the head deadline, the victim always answered"

# --- 40 slow readers of a big layer --------------------------------------------
caches=("$WORK"/tmp/goldroot-layers-*)
[ ${#caches[@]} = 1 ] && [ -d "${caches[0]}" ] || fail "no single layer cache under \$TMPDIR: ${caches[*]}"
cache=${caches[0]}
bundles() { find "$cache" -maxdepth 1 -name '*.tar' | sort; }
[ -z "$(bundles)" ] || fail "a bundle before any layer request: $(bundles)"
echo "# 40 connections from 127.0.0.3 fetch /layers/pc01.tar and never read it"
helper slow-layers 127.0.0.1 "$port" /layers/pc01.tar "/boot/$mac.ipxe" --source 127.0.0.3 \
  --connections 40 --server-pid "$server" --cache-dir "$cache" --key "$WORK/pc01.key" ||
  fail "the slow-reader flood (above)"
[ "$(bundles | wc -l)" = 1 ] || fail "bundles in the cache after the flood: $(bundles)"
first=$(bundles)
first_inode=$(stat -c %i "$first")
ok "40 slow readers of a 4 MB layer: one bundle, written once and sent to all; the victim always answered"

[ "$(host_get "$WORK/pc01.key" "$url/layers/pc01.tar")" = 200 ] || fail "layer fetch: $(cat "$WORK/body")"
mv "$WORK/body" "$WORK/layer.tar"
[ "$(bundles)" = "$first" ] && [ "$(stat -c %i "$first")" = "$first_inode" ] ||
  fail "an unchanged layer was written again: $(bundles)"
mkdir "$WORK/layer" && tar -xf "$WORK/layer.tar" -C "$WORK/layer"
cmp -s "$WORK/layer/opt/big.bin" "$GOLDROOT_SITE/layers/base/opt/big.bin" || fail "big.bin differs"
echo "changed on the server" > "$GOLDROOT_SITE/layers/base/etc/motd"
[ "$(host_get "$WORK/pc01.key" "$url/layers/pc01.tar")" = 200 ] || fail "layer fetch after a change"
mv "$WORK/body" "$WORK/layer2.tar"
mkdir "$WORK/layer2" && tar -xf "$WORK/layer2.tar" -C "$WORK/layer2"
[ "$(cat "$WORK/layer2/etc/motd")" = "changed on the server" ] ||
  fail "a changed layer file is not served: motd is '$(cat "$WORK/layer2/etc/motd")'"
[ "$(bundles | wc -l)" = 1 ] || fail "bundles after a change: $(bundles)"
[ "$(bundles)" != "$first" ] || fail "the bundle was not replaced after a change"
ok "a cached bundle is served again unchanged; a changed layer file replaces it (still one bundle)"

python3 - "$GOLDROOT_SITE/logs/access.log" <<'PY' || fail "access log: $(grep -c . "$GOLDROOT_SITE/logs/access.log") lines"
import json, sys, time
for _ in range(20):  # a response is logged when its connection ends
    lines = [json.loads(l) for l in open(sys.argv[1])]
    slow = [l for l in lines if l["client"].startswith("127.0.0.3:")]
    if len(slow) >= 40:
        break
    time.sleep(0.1)
assert len(slow) == 40 and all(l["path"] == "/layers/pc01.tar" and l["status"] == 200 for l in slow), slow[:3]
assert not any(l["client"].startswith("127.0.0.2:") for l in lines), "an idle connection was logged as a request"
PY
ok "the access log has the 40 slow layer responses and no request from the idle attacker"

# --- bodies refused unread -------------------------------------------------------
echo "# bodies the server refuses before reading them"
helper bodies 127.0.0.1 "$port" || fail "bodies (above)"
ok "a body on GET/HEAD is a 400, a too-large body a 413, both before it is sent; conflicting lengths are a 400"
kill -0 "$server" 2>/dev/null || fail "the server died: $(tail -5 "$WORK/serve.log")"
finish

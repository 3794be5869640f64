#!/usr/bin/env bash
# Pre-fetch before the switch (issue #19), against a real `goldroot serve`
# on loopback and real agents: gold moves from v1 to v2, and
#   1. the agent of a host whose lab says prefetch=now (fetch=demand, v1's
#      block cache on its disk, as an on-demand boot leaves it) is handed a
#      signed order with its report's answer and fetches v2 into its cache
#      with goldroot-blockd, seeded from v1: it fetches the blocks v1 lacks
#      and the part of v2's tree v1's does not hold, no more; `goldroot
#      status` shows v2 at 100% (table and --json); the cache's data part
#      is the v2 export, byte for byte, and mounts as v2; an agent
#      restarted over the complete cache fetches nothing;
#   2. a fetch=full host of the same lab ends up with the whole copy
#      goldroot-boot reuses, <sha256>.erofs, checked against the manifest;
#   3. a host whose lab says off, and one whose window is closed now,
#      fetch nothing and are given no order;
#   4. answers the agent must not believe, from a stand-in for the server
#      (a student's machine on the wire) — the host's genuine order
#      replayed to another report, a tampered one, an unsigned one, one
#      signed by another site — are each refused with one sentence, and
#      nothing is fetched.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"
require_root
: "${GOLDROOT_BLOCKD:?GOLDROOT_BLOCKD must point at goldroot-blockd}"
command -v python3 >/dev/null || require python3
grep -qw erofs /proc/filesystems || modprobe erofs 2>/dev/null || true

gr init >/dev/null
tree=$WORK/tree
mkdir -p "$tree/etc" "$tree/boot" "$tree/usr/lib"
head -c 100000 /dev/urandom >"$tree/boot/vmlinuz-6.1.0-28-amd64"
head -c 100000 /dev/urandom >"$tree/boot/initrd.img-6.1.0-28-amd64"
for i in $(seq 1 40); do head -c $((3000 + i * 997)) /dev/urandom >"$tree/usr/lib/lib$i.so"; done
head -c 2000000 /dev/urandom >"$tree/usr/lib/large.bin"
echo v1 >"$tree/etc/version"
v1=$(gr image import "$tree" --name labimg)
gr image export labimg >/dev/null
gr channel set test labimg >/dev/null
gr promote >/dev/null

# The server's local time decides a window; one that opens in two hours is
# closed now.
closed_window=$(python3 -c 'import time
t = time.localtime(time.time() + 7200); u = time.localtime(time.time() + 10800)
print("%02d:%02d-%02d:%02d" % (t.tm_hour, t.tm_min, u.tm_hour, u.tm_min))')
gr lab add labnow --prefetch now --fetch demand >/dev/null
gr lab add laboff --prefetch off >/dev/null
gr lab add labwin --prefetch "$closed_window" >/dev/null
gr lab list | grep -Eq "^labwin .* $closed_window " || fail "lab list: $(gr lab list)"
gr lab list --json | python3 -c '
import json, sys
labs = {l["name"]: l for l in json.load(sys.stdin)}
assert labs["labnow"]["prefetch"] == "now" and labs["laboff"]["effective_prefetch"] == "off", labs' ||
  fail "lab list --json: $(gr lab list --json)"
expect_fail "a malformed prefetch window" gr lab set labwin prefetch=22:00-25:00
expect_fail "an empty prefetch window" gr site set prefetch=06:00-06:00
gr site show | grep -qx "prefetch=off" || fail "site show: $(gr site show)"
ok "prefetch is a lab and site setting: now, off, $closed_window"

gr host add pc01 --mac 52:54:00:aa:00:01 --lab labnow >/dev/null
gr host add pc02 --mac 52:54:00:aa:00:02 --lab laboff >/dev/null
gr host add pc03 --mac 52:54:00:aa:00:03 --lab labwin >/dev/null
gr host add pc04 --mac 52:54:00:aa:00:04 --lab labnow --fetch full >/dev/null
# client NAME MAC: a fake client booted from v1, with a cache directory on
# "its data partition" and goldroot-boot's copy of the site key.
client() {
  CLIENT_COMMIT=$v1 make_client "$1" "$2"
  local dir="$WORK/clients/$1"
  mkdir -p "$dir/cache"
  python3 - "$dir/boot.json" "$dir/cache" "$GOLDROOT_SITE/keys/site.pub" <<'PY'
import json, sys
record = json.load(open(sys.argv[1]))
record["cache_dir"], record["site_key"] = sys.argv[2], sys.argv[3]
json.dump(record, open(sys.argv[1], "w"))
PY
}
for n in 1 2 3 4; do client pc0$n 52:54:00:aa:00:0$n; done
start_server

# The export of IMAGE's commit as the server offers it: sha256, size, verity.
export_of() { gr image export "$1" --json | python3 -c '
import json, sys
record = json.load(sys.stdin)
v = record["verity"]
print(record["sha256"], record["size"], v["root_hash"], v["salt"], v["data_blocks"], v["tree_size"])'; }
read -r v1_sha v1_size v1_root v1_salt v1_blocks v1_tree <<<"$(export_of "$v1")"
[ -n "$v1_root" ] || fail "no erofs export with a verity tree for v1: $(ls -R "$GOLDROOT_SITE/exports")"
# pc01 booted v1 on demand: its whole block cache is on the disk.
"$GOLDROOT_BLOCKD" --prefetch --cache-dir "$WORK/clients/pc01/cache" \
  --image-url "$SERVER_URL/images/$v1_sha.erofs" --tree-url "$SERVER_URL/images/$v1_sha.verity" \
  --root-hash "$v1_root" --salt "$v1_salt" --data-blocks "$v1_blocks" --tree-size "$v1_tree" \
  2>"$WORK/v1-prefetch.log" || fail "filling pc01's v1 cache: $(cat "$WORK/v1-prefetch.log")"

# While gold is what they run, there is nothing to pre-fetch.
agent pc01 --once --blockd "$GOLDROOT_BLOCKD" 2>"$WORK/agent.log" || fail "agent pc01: $(cat "$WORK/agent.log")"
[ ! -e "$WORK/clients/pc01/prefetch.log" ] || fail "pc01 pre-fetched the image it runs"

# v2: a file changed, one added, one removed; promoted to gold.
head -c 50000 /dev/urandom >"$tree/usr/lib/lib7.so"
head -c 30000 /dev/urandom >"$tree/usr/lib/libnew.so"
rm "$tree/usr/lib/lib20.so"
echo v2 >"$tree/etc/version"
v2=$(gr image import "$tree" --name labimg)
gr image export labimg >/dev/null
gr channel set test labimg >/dev/null
gr promote >/dev/null
read -r v2_sha v2_size v2_root v2_salt v2_blocks v2_tree <<<"$(export_of "$v2")"
curl -s -o "$WORK/v1.erofs" "$SERVER_URL/images/$v1_sha.erofs"
curl -s -o "$WORK/v2.erofs" "$SERVER_URL/images/$v2_sha.erofs"

# --- 1. prefetch=now, on demand: v2 seeded from v1 -------------------------
agent_command pc01
"${AGENT_COMMAND[@]}" --interval 1 --jitter 0 --blockd "$GOLDROOT_BLOCKD" 2>"$WORK/pc01.log" &
pc01_agent=$!
on_exit "kill $pc01_agent 2>/dev/null; wait $pc01_agent 2>/dev/null"
prefetch_of() {  # HOST FIELD: the field of HOST's prefetch in status --json ("null" if none)
  gr status --json | python3 -c '
import json, sys
host = {h["name"]: h for h in json.load(sys.stdin)}[sys.argv[1]]
print("null" if host["prefetch"] is None else host["prefetch"][sys.argv[2]])' "$1" "$2"
}
for _ in $(seq 1 150); do [ "$(prefetch_of pc01 state)" = complete ] && break; sleep 0.2; done
[ "$(prefetch_of pc01 state)" = complete ] ||
  fail "pc01 did not complete its pre-fetch: $(gr status --json) $(cat "$WORK/pc01.log" "$WORK/clients/pc01/prefetch.log")"
[ "$(prefetch_of pc01 commit)" = "$v2" ] || fail "pc01 pre-fetched $(prefetch_of pc01 commit), not v2"
[ "$(prefetch_of pc01 percent)" = 100 ] || fail "pc01 at $(prefetch_of pc01 percent)%"
[ "$(prefetch_of pc01 current)" = True ] || fail "pc01's pre-fetch is not gold's commit"
gr status | grep -Eq "^pc01 +labnow +up +${v1:0:12} \(old\) .* ${v2:0:12} 100%$" ||
  fail "status line of pc01: $(gr status)"
grep -q "pre-fetching image ${v2:0:12} for the next boot" "$WORK/pc01.log" || fail "agent log: $(cat "$WORK/pc01.log")"
cache=$WORK/clients/pc01/cache
cmp -n "$v2_size" "$cache/$v2_root.image" "$WORK/v2.erofs" || fail "pc01's v2 cache is not the v2 export"
[ "$(head -c "$v2_size" "$cache/$v2_root.image" | sha256sum | cut -c1-64)" = "$v2_sha" ] ||
  fail "pc01's v2 cache does not have the manifest's sha256"
# What v2 costs: the update patch the export wrote beside v2 (the server
# offers it as /images/<v2>.erofs.patch-<v1 root>), which makes the blocks
# v1 lacks (but blocks of zeros, which the client makes) and the hash
# blocks v1's tree does not hold, for fewer bytes than those blocks.
lacking=$(python3 - "$WORK/v1.erofs" "$WORK/v2.erofs" <<'PY'
import sys
blocks = lambda p: [b[i:i + 4096] for b in [open(p, "rb").read()] for i in range(0, len(b), 4096)]
old = set(blocks(sys.argv[1])) | {bytes(4096)}
print(sum(4096 for b in blocks(sys.argv[2]) if b not in old))
PY
)
fetched=$(prefetch_of pc01 fetched_bytes)
seeded=$(prefetch_of pc01 seeded_bytes)
patch=$(stat -c %s "$GOLDROOT_SITE/exports/$v2.erofs.patch-$v1_root") || fail "no update patch beside v2's export"
grep -q "updating from image ${v1_root:0:12} with its patch" "$WORK/clients/pc01/prefetch.log" ||
  fail "pc01 did not use the update patch: $(cat "$WORK/clients/pc01/prefetch.log")"
[ "$fetched" = "$patch" ] && [ "$fetched" -lt "$lacking" ] ||
  fail "pc01 fetched $fetched bytes: want the $patch-byte patch, less than the $lacking bytes of blocks v1 lacks"
[ $((seeded + lacking)) = "$v2_size" ] || fail "seeded $seeded + blocks from the patch $lacking is not v2's $v2_size bytes"
mkdir "$WORK/mnt"
head -c "$v2_size" "$cache/$v2_root.image" >"$WORK/v2-from-cache.erofs"
mounted="(erofs is not in this kernel: not mounted)"
if grep -qw erofs /proc/filesystems; then
  mount -t erofs -o ro,loop "$WORK/v2-from-cache.erofs" "$WORK/mnt" || fail "the pre-fetched v2 does not mount"
  on_exit "mountpoint -q $WORK/mnt && umount $WORK/mnt"
  [ "$(cat "$WORK/mnt/etc/version")" = v2 ] || fail "the pre-fetched image is not v2"
  umount "$WORK/mnt"
  mounted="and mounts as v2"
fi
ok "prefetch=now: pc01 fetched v2 ($v2_size bytes, tree $v2_tree) into its cache seeded from v1: $fetched bytes fetched (its update patch, for $lacking bytes of blocks and the hash blocks v1 lacks), $seeded copied; status shows ${v2:0:12} 100%; the cache is the v2 export $mounted"

# Restarted over a complete cache: nothing is fetched again.
kill "$pc01_agent"; wait "$pc01_agent" 2>/dev/null || true
"${AGENT_COMMAND[@]}" --interval 1 --jitter 0 --blockd "$GOLDROOT_BLOCKD" 2>"$WORK/pc01.log" &
pc01_agent=$!
sleep 3
kill "$pc01_agent"; wait "$pc01_agent" 2>/dev/null || true
[ "$(prefetch_of pc01 state)" = complete ] || fail "after a restart: $(gr status --json)"
[ "$(prefetch_of pc01 fetched_bytes)" = 0 ] || fail "a restarted agent fetched $(prefetch_of pc01 fetched_bytes) bytes again"
ok "an agent restarted over the complete cache fetches nothing"

# --- 2. fetch=full: the whole copy goldroot-boot reuses -----------------------
agent_command pc04
# pc04 boots v1 from the whole copy goldroot-boot downloaded: it seeds v2,
# and the patch named by v1's root (its tree made on pc04) applies.
mkdir -p "$WORK/clients/pc04/cache"
cp "$WORK/v1.erofs" "$WORK/clients/pc04/cache/$v1_sha.erofs"
"${AGENT_COMMAND[@]}" --interval 1 --jitter 0 --blockd "$GOLDROOT_BLOCKD" 2>"$WORK/pc04.log" &
pc04_agent=$!
on_exit "kill $pc04_agent 2>/dev/null; wait $pc04_agent 2>/dev/null"
for _ in $(seq 1 150); do [ "$(prefetch_of pc04 state)" = complete ] && break; sleep 0.2; done
kill "$pc04_agent"; wait "$pc04_agent" 2>/dev/null || true
[ "$(prefetch_of pc04 state)" = complete ] || fail "pc04: $(gr status --json) $(cat "$WORK/pc04.log")"
[ "$(sha256sum <"$WORK/clients/pc04/cache/$v2_sha.erofs" | cut -c1-64)" = "$v2_sha" ] ||
  fail "pc04 has no whole copy of v2: $(ls "$WORK/clients/pc04/cache")"
[ ! -e "$WORK/clients/pc04/cache/$v2_root.map" ] || fail "pc04 kept the block cache's map"
grep -q "seeding from the whole copy" "$WORK/clients/pc04/prefetch.log" ||
  fail "pc04 did not seed from its whole copy of v1: $(cat "$WORK/clients/pc04/prefetch.log")"
[ "$(prefetch_of pc04 fetched_bytes)" = "$patch" ] ||
  fail "pc04 fetched $(prefetch_of pc04 fetched_bytes) bytes, not the $patch-byte patch"
ok "fetch=full: pc04 holds $v2_sha.erofs, the whole copy goldroot-boot reuses, made from its whole copy of v1 and the $patch-byte patch"

# --- 3. off, and a closed window ------------------------------------------
for host in pc02 pc03; do
  agent "$host" --once --blockd "$GOLDROOT_BLOCKD" 2>"$WORK/$host.log" || fail "agent $host: $(cat "$WORK/$host.log")"
  agent "$host" --once --blockd "$GOLDROOT_BLOCKD" 2>>"$WORK/$host.log" || fail "agent $host: $(cat "$WORK/$host.log")"
  [ -z "$(ls "$WORK/clients/$host/cache")" ] || fail "$host fetched: $(ls "$WORK/clients/$host/cache")"
  [ ! -e "$WORK/clients/$host/prefetch.log" ] || fail "$host started a pre-fetch"
  [ "$(prefetch_of $host state)" = null ] || fail "$host reports a pre-fetch: $(gr status --json)"
done
gr status | grep -Eq "^pc02 .* -$" || fail "status pc02: $(gr status)"
ok "prefetch=off (pc02) and a window closed now (pc03, $closed_window): nothing fetched"

# --- 4. answers not to believe -------------------------------------------
# A genuine order, as the server answers pc01's signed report.
report=$WORK/report.json
python3 - "$report" "$v1" <<'PY'
import json, sys, time
json.dump({"version": 1, "host": "pc01", "mac": "52:54:00:aa:00:01", "boot_id": "forge-test",
           "sequence": 1, "sent_at": int(time.time()), "event": "periodic", "commit": sys.argv[2],
           "mode": "normal"}, open(sys.argv[1], "w"))
PY
curl -s -o "$WORK/answer.json" -H "X-Goldroot-Signature: $(sign_report "$WORK/clients/pc01/host.key" "$report")" \
  --data-binary @"$report" "$SERVER_URL/api/v1/reports"
python3 - "$WORK/answer.json" "$WORK" <<'PY' || fail "the server's answer carries no order: $(cat "$WORK/answer.json")"
import json, subprocess, sys
order = json.load(open(sys.argv[1]))["prefetch"]["manifest"]
work = sys.argv[2]
manifest = json.loads(order)
assert manifest["host"]["challenge"] == "prefetch forge-test 1", manifest["host"]
reply = lambda text: json.dumps({"accepted": True, "commands": [], "prefetch": {"manifest": text}})
open(work + "/replayed.json", "w").write(reply(order))
tampered = json.loads(order)
tampered["image"]["verity"]["root_hash"] = "0" * 64
open(work + "/tampered.json", "w").write(reply(json.dumps(tampered)))
unsigned = json.loads(order)
del unsigned["signature"]
open(work + "/unsigned.json", "w").write(reply(json.dumps(unsigned)))
PY
# Another site's key signs an order bound to pc01 as this one would.
GOLDROOT_SITE=$WORK/site2 gr init >/dev/null
python3 - "$WORK/answer.json" "$WORK/site2/keys" "$WORK" <<'PY' || fail "signing with another key"
import base64, json, subprocess, sys
order = json.loads(json.load(open(sys.argv[1]))["prefetch"]["manifest"])
del order["signature"]
key = sys.argv[2] + "/site.key"
body = b"goldroot-boot-manifest-v1\n" + json.dumps(order, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
open(sys.argv[3] + "/statement", "wb").write(body)
signature = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", sys.argv[3] + "/statement"],
                           check=True, capture_output=True).stdout
public = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], check=True, capture_output=True).stdout[-32:]
import hashlib
order["signature"] = {"algorithm": "ed25519", "key_id": hashlib.sha256(public).hexdigest()[:16],
                      "value": base64.b64encode(signature).decode()}
open(sys.argv[3] + "/foreign.json", "w").write(json.dumps({"accepted": True, "commands": [], "prefetch": {"manifest": json.dumps(order)}}))
PY
# A stand-in for the server (a student's machine on the wire) answering
# every report with the canned body.
python3 -c '
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = open(sys.argv[1], "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()' "$WORK/canned.json" >"$WORK/forger.port" &
forger=$!
on_exit "kill $forger 2>/dev/null"
for _ in $(seq 1 100); do [ -s "$WORK/forger.port" ] && break; sleep 0.1; done
forger_url="http://127.0.0.1:$(cat "$WORK/forger.port")"
# pc01 itself is the target: the order was made for it, on another report.
rm -f "$WORK/clients/pc01/prefetch.log"
cache_before=$(ls -l "$WORK/clients/pc01/cache")
for kind in replayed tampered unsigned foreign; do
  cp "$WORK/$kind.json" "$WORK/canned.json"
  agent pc01 --once --server "$forger_url" --blockd "$GOLDROOT_BLOCKD" 2>"$WORK/forged.log" ||
    fail "agent pc01 against the forger: $(cat "$WORK/forged.log")"
  [ "$(grep -c . "$WORK/forged.log")" = 1 ] || fail "$kind: not one line: $(cat "$WORK/forged.log")"
  grep -q "^goldroot-agent: refused the server's pre-fetch order: " "$WORK/forged.log" ||
    fail "$kind order not refused: $(cat "$WORK/forged.log")"
  [ ! -e "$WORK/clients/pc01/prefetch.log" ] && [ "$(ls -l "$WORK/clients/pc01/cache")" = "$cache_before" ] ||
    fail "a $kind order started a fetch"
  article=a; [ "$kind" = unsigned ] && article=an
  ok "$article $kind order is refused: $(sed 's/^goldroot-agent: //' "$WORK/forged.log")"
done
finish

#!/usr/bin/env bash
# Seeding and `goldroot-blockd --prefetch` on real erofs exports of two
# commits of one image (v2 = v1 with a file changed, one added and one
# removed), served with Range by a small HTTP server that logs the bytes of
# every request:
#   1. prefetching v1 into an empty cache directory fetches all of v1 (and
#      its tree); the cache's data part equals the v1 export byte for byte;
#   2. prefetching v2 beside it loads v2's verity tree by Merkle descent,
#      copying the hash blocks v1's tree has (a small change: most of them)
#      and fetching the others, then copies every v2 block v1 has (by its
#      hash in v2's tree, wherever it lies in v1) and fetches exactly the
#      others: the bytes served equal the status file's fetched_bytes, which
#      is the tree's fetched part plus the blocks v1 lacks; the data part
#      equals the v2 export byte for byte and mounts as erofs equal to the
#      v2 checkout;
#   3. a block damaged in v1's cache, and a hash block damaged in v1's tree,
#      are not copied but fetched, and the result is still v2; a second
#      prefetch of a complete cache fetches nothing.
source "$(dirname "$0")/lib.sh"
require_root
: "${GOLDROOT_BLOCKD:?GOLDROOT_BLOCKD must point at goldroot-blockd}"
command -v python3 >/dev/null || require python3

gr init >/dev/null
tree=$WORK/tree
mkdir -p "$tree/etc" "$tree/usr/lib" "$tree/usr/share/doc"
for i in $(seq 1 40); do head -c $((3000 + i * 997)) /dev/urandom >"$tree/usr/lib/lib$i.so"; done
# 12 MB that do not compress: a tree of 3000-odd leaves, 25 hash blocks.
head -c 12000000 /dev/urandom >"$tree/usr/lib/large.bin"
seq 1 20000 >"$tree/usr/share/doc/numbers"
echo v1 >"$tree/etc/version"
gr image import "$tree" --name seedimg -m v1 >/dev/null
gr image export seedimg --output "$WORK/v1.erofs" --json >"$WORK/v1.json"
head -c 50000 /dev/urandom >"$tree/usr/lib/lib7.so"         # changed
head -c 30000 /dev/urandom >"$tree/usr/lib/libnew.so"       # added
rm "$tree/usr/lib/lib20.so"                                  # removed
echo v2 >"$tree/etc/version"
gr image import "$tree" --name seedimg -m v2 >/dev/null
gr image export seedimg --output "$WORK/v2.erofs" --json >"$WORK/v2.json"
gr image checkout seedimg "$WORK/expected" 2>/dev/null

served=$WORK/served
mkdir "$served"
for v in v1 v2; do
  cp "$WORK/$v.erofs" "$served/$v.erofs"
  cp "$WORK/$v.erofs.verity" "$served/$v.verity"
done
# A Range server that appends "<path> <bytes>" per request to range.log.
python3 -c '
import functools, http.server, os, re, sys
log = open(sys.argv[2], "a", buffering=1)
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def log_message(self, *args): pass
    def send_head(self):
        self.range_length = None
        match = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
        if not match: return super().send_head()
        body = open(self.translate_path(self.path), "rb")
        size = os.fstat(body.fileno()).st_size
        first, last = int(match[1]), min(int(match[2]), size - 1)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(last - first + 1))
        self.end_headers()
        body.seek(first)
        self.range_length = last - first + 1
        log.write(f"{self.path} {self.range_length}\n")
        return body
    def copyfile(self, source, destination):
        if self.range_length is None: return super().copyfile(source, destination)
        destination.write(source.read(self.range_length))
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=sys.argv[1]))
print(server.server_address[1], flush=True)
server.serve_forever()' "$served" "$WORK/range.log" >"$WORK/port" &
http=$!
on_exit "kill $http 2>/dev/null; wait $http 2>/dev/null"
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
port=$(cat "$WORK/port")
[ -n "$port" ] || fail "the HTTP server did not start"

verity() { python3 -c '
import json, sys
v = json.load(open(sys.argv[1]))["verity"]
print(v["root_hash"], v["salt"], v["data_blocks"], v["tree_size"])' "$WORK/$1.json"; }
cache=$WORK/cache
# prefetch VERSION: fills its cache; the status file is $WORK/VERSION.status.
prefetch() {
  local root salt blocks tree_size
  read -r root salt blocks tree_size < <(verity "$1")
  : >"$WORK/range.log"
  "$GOLDROOT_BLOCKD" --prefetch --cache-dir "$cache" \
    --image-url "http://127.0.0.1:$port/$1.erofs" --tree-url "http://127.0.0.1:$port/$1.verity" \
    --root-hash "$root" --salt "$salt" --data-blocks "$blocks" --tree-size "$tree_size" \
    --status "$WORK/$1.status" 2>"$WORK/$1.log"
}
field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }
served_bytes() { awk '{ n += $2 } END { print n + 0 }' "$WORK/range.log"; }
data_part_equals() {  # VERSION: the cache's first (export size) bytes are the export
  local root
  root=$(verity "$1" | cut -d' ' -f1)
  cmp -n "$(stat -c %s "$WORK/$1.erofs")" "$cache/$root.image" "$WORK/$1.erofs"
}

[ "$(verity v1 | cut -d' ' -f2)" = "$(verity v2 | cut -d' ' -f2)" ] || fail "v1 and v2 have different salts"
prefetch v1 || fail "prefetch v1: $(cat "$WORK/v1.log")"
v1_size=$(stat -c %s "$WORK/v1.erofs")
v1_tree=$(stat -c %s "$WORK/v1.erofs.verity")
[ "$(served_bytes)" = $((v1_size + v1_tree)) ] || fail "v1: served $(served_bytes), not $((v1_size + v1_tree))"
[ "$(field "$WORK/v1.status" seeded_bytes)" = 0 ] || fail "v1 seeded from nothing?"
data_part_equals v1 || fail "v1's cache is not the v1 export"
ok "prefetch of v1 into an empty cache: $((v1_size + v1_tree)) bytes fetched, the cache equals the export"

# What v2 needs from the server: the blocks v1 does not have (but zeros,
# which the client makes itself) and part of its tree.
expected=$(python3 - "$WORK/v1.erofs" "$WORK/v2.erofs" <<'PY'
import sys
blocks = lambda p: [b[i:i + 4096] for b in [open(p, "rb").read()] for i in range(0, len(b), 4096)]
old = set(blocks(sys.argv[1])) | {bytes(4096)}
print(sum(4096 for b in blocks(sys.argv[2]) if b not in old))
PY
)
v2_size=$(stat -c %s "$WORK/v2.erofs")
v2_tree=$(stat -c %s "$WORK/v2.erofs.verity")
prefetch v2 || fail "prefetch v2: $(cat "$WORK/v2.log")"
seeded=$(field "$WORK/v2.status" seeded_bytes)
fetched=$(field "$WORK/v2.status" fetched_bytes)
tree_fetched=$(field "$WORK/v2.status" tree_fetched_bytes)
tree_seeded=$(field "$WORK/v2.status" tree_seeded_bytes)
[ "$(served_bytes)" = "$fetched" ] || fail "served $(served_bytes) bytes, the status says $fetched"
[ $((tree_fetched + tree_seeded)) = "$v2_tree" ] ||
  fail "of v2's $v2_tree-byte tree, $tree_fetched fetched and $tree_seeded copied"
[ $((tree_fetched * 4)) -lt "$v2_tree" ] ||
  fail "the descent fetched $tree_fetched bytes of v2's $v2_tree-byte tree for a small change"
[ "$fetched" = $((expected + tree_fetched)) ] ||
  fail "v2 fetched $fetched, expected $((expected + tree_fetched)) (blocks v1 lacks + the tree's fetched part)"
[ $((seeded + expected)) = "$v2_size" ] || fail "seeded $seeded + fetched blocks $expected is not v2's $v2_size bytes"
data_part_equals v2 || fail "v2's cache is not the v2 export"
grep -q "copied from older images" "$WORK/v2.log" || fail "no summary line: $(cat "$WORK/v2.log")"
mkdir "$WORK/mnt"
v2_root=$(verity v2 | cut -d' ' -f1)
head -c "$v2_size" "$cache/$v2_root.image" >"$WORK/v2-from-cache.erofs"
mount -t erofs -o ro,loop "$WORK/v2-from-cache.erofs" "$WORK/mnt"
on_exit "mountpoint -q $WORK/mnt && umount $WORK/mnt"
diff -r "$WORK/expected" "$WORK/mnt" >/dev/null || fail "the seeded v2 does not mount equal to the v2 checkout"
umount "$WORK/mnt"
ok "prefetch of v2 seeded from v1: $seeded bytes copied, $fetched fetched (of $((v2_size + v2_tree)); $((100 * fetched / (v2_size + v2_tree)))%; $tree_fetched of its $v2_tree-byte tree), equal to the v2 export and its commit"

prefetch v2 || fail "prefetch of a complete v2: $(cat "$WORK/v2.log")"
[ "$(served_bytes)" = 0 ] || fail "a complete cache fetched $(served_bytes) bytes"
ok "a complete cache is left alone"

# A cache a running daemon holds (its shared flock) is not prefetched.
python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "rb"); fcntl.flock(f, fcntl.LOCK_SH)
open(sys.argv[2], "w").close(); time.sleep(30)' "$cache/$(verity v2 | cut -d' ' -f1).image" "$WORK/locked" &
holder=$!
on_exit "kill $holder 2>/dev/null"
for _ in $(seq 1 100); do [ -e "$WORK/locked" ] && break; sleep 0.1; done
! prefetch v2 || fail "a cache in use was prefetched"
grep -q "is open in a running goldroot-blockd" "$WORK/v2.log" || fail "no reason given: $(cat "$WORK/v2.log")"
kill $holder; wait $holder 2>/dev/null || true
ok "a cache a running daemon holds is refused: $(sed 's/^goldroot-blockd: //' "$WORK/v2.log")"

# A damaged v1 block: not copied, fetched; v2 still right.
rm "$cache/$v2_root.image" "$cache/$v2_root.map"
v1_root=$(verity v1 | cut -d' ' -f1)
python3 - "$cache/$v1_root.image" "$WORK/v2.erofs" <<'PY' || fail "no shared block to damage"
import sys
old = open(sys.argv[1], "r+b")
data = old.read()
new = open(sys.argv[2], "rb").read()
newblocks = set(new[i:i + 4096] for i in range(0, len(new), 4096))
for i in range(len(data) // 4096 // 2, len(data) // 4096):
    block = data[i * 4096:(i + 1) * 4096]
    if block in newblocks and block != bytes(4096):
        old.seek(i * 4096 + 7); old.write(bytes([block[7] ^ 0xff])); sys.exit(0)
sys.exit(1)
PY
# And a hash block of v1's tree that v2's tree has too (its leaves come last).
python3 - "$cache/$v1_root.image" "$v1_size" "$WORK/v1.erofs.verity" "$WORK/v2.erofs.verity" <<'PY' ||
import sys
old_tree, new_tree = open(sys.argv[3], "rb").read(), open(sys.argv[4], "rb").read()
new_blocks = set(new_tree[i:i + 4096] for i in range(0, len(new_tree), 4096))
for i in reversed(range(len(old_tree) // 4096)):
    if old_tree[i * 4096:(i + 1) * 4096] in new_blocks:
        with open(sys.argv[1], "r+b") as image:
            image.seek(int(sys.argv[2]) + i * 4096 + 100); image.write(b"damaged")
        sys.exit(0)
sys.exit(1)
PY
  fail "no shared hash block to damage"
prefetch v2 || fail "prefetch v2 over a damaged v1: $(cat "$WORK/v2.log")"
[ "$(field "$WORK/v2.status" fetched_bytes)" -gt "$fetched" ] || fail "the damaged block was not fetched"
[ "$(field "$WORK/v2.status" tree_fetched_bytes)" = $((tree_fetched + 4096)) ] ||
  fail "the damaged hash block was not fetched: $(field "$WORK/v2.status" tree_fetched_bytes) tree bytes, not $((tree_fetched + 4096))"
[ "$(field "$WORK/v2.status" verify_failures)" = 0 ] || fail "a damaged seed counted as a verify failure"
data_part_equals v2 || fail "v2's cache is not the v2 export after a damaged seed"
ok "a damaged block and a damaged hash block of v1's cache are fetched instead ($(field "$WORK/v2.status" fetched_bytes) bytes fetched)"
finish

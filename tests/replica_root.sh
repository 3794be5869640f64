#!/usr/bin/env bash
# A secondary server copies its primary (replica/replica_pull.h) over the
# primary's TLS admin API: images, exports, layers (with their symlinks,
# modes and owners), refs and settings arrive equal; keys, the database and
# anything outside the replica set never leave the primary, not even
# through a symlink; only changes cross on the next pull, an interrupted
# copy resumes, a damaged one is repaired, and what the primary removed
# goes; commands that change the site refuse to run on the secondary; a
# secondary's `goldroot serve` follows a promotion within seconds, and,
# sharing the primary's PostgreSQL inventory, answers its hosts as the
# primary does. Runs itself under scripts/with_postgresql.sh.
if [ -z "${GOLDROOT_TEST_DATABASE:-}" ]; then
  exec "${SOURCE_DIR:-$(dirname "$0")/..}/scripts/with_postgresql.sh" bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
require_root
for tool in curl openssl python3; do command -v "$tool" >/dev/null || require "$tool"; done

primary=$GOLDROOT_SITE
secondary=$WORK/secondary
sec() { GOLDROOT_SITE=$secondary "$GOLDROOT" "$@"; }

gr init --database "$GOLDROOT_TEST_DATABASE" >/dev/null
src="$WORK/src"
mkdir -p "$src/etc" "$src/boot" "$src/usr/bin"
head -c 300000 /dev/urandom > "$src/boot/vmlinuz-6.1.0-28-amd64"
head -c 200000 /dev/urandom > "$src/boot/initrd.img-6.1.0-28-amd64"
head -c 3000000 /dev/urandom > "$src/usr/bin/big"
echo "template" > "$src/etc/hostname"
gr image import "$src" --name lab >/dev/null
gr lab add lab3 >/dev/null
gr host add pc01 --mac 52:54:00:aa:00:01 --lab lab3 >/dev/null
gr channel set gold lab >/dev/null
gr image export lab >/dev/null
gr site set enroll=first-use >/dev/null
layers=$primary/layers
mkdir -p "$layers/base/etc/skel" "$layers/base/root" "$layers/labs/lab3/usr/local/bin"
echo "export LAB=1" > "$layers/base/etc/skel/.bashrc"
ln -s /usr/share/zoneinfo/Europe/Berlin "$layers/base/etc/localtime"
chmod 0700 "$layers/base/root"
printf '#!/bin/sh\n' > "$layers/labs/lab3/usr/local/bin/tool"
chown 1000:50 "$layers/labs/lab3/usr/local/bin/tool"
chmod 4755 "$layers/labs/lab3/usr/local/bin/tool"
ln -s lab3 "$layers/labs/lab4"
# Bait: a symlink in exports that leads to the site's key.
ln -s ../keys/site.key "$primary/exports/leak.erofs"

port=$(free_port); tls_port=$(free_port); sec_port=$(free_port); sec_tls=$(free_port)
tls_url="https://127.0.0.1:$tls_port/"
"$GOLDROOT" serve --listen "127.0.0.1:$port" --tls-listen "127.0.0.1:$tls_port" \
  --peer "http://127.0.0.1:$sec_port" > "$WORK/primary.log" 2>&1 &
primary_pid=$!
on_exit "kill $primary_pid 2>/dev/null; wait $primary_pid 2>/dev/null"
for _ in $(seq 1 300); do curl -sk -o /dev/null "$tls_url" && break; sleep 0.1; done
curl -sk -o /dev/null "$tls_url" || fail "the primary does not serve: $(cat "$WORK/primary.log")"
pin="sha256//$(openssl x509 -in "$primary/keys/tls.crt" -pubkey -noout |
  openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"
token=$(cat "$primary/keys/admin.token")

# 1. What the routes give, and to whom.
get() {  # get URL-PATH [curl args…] -> prints the HTTP status; body in $WORK/body
  local path=$1; shift
  curl -s -k --pinnedpubkey "$pin" -o "$WORK/body" -w '%{http_code}' "$@" "$tls_url$path"
}
auth=(-H "Authorization: Bearer $token")
[ "$(get api/v1/replica/index)" = 401 ] || fail "the replica index without the admin token: $(cat "$WORK/body")"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' "${auth[@]}" "http://127.0.0.1:$port/api/v1/replica/index")
[ "$code" = 403 ] && grep -q "over TLS only" "$WORK/body" || fail "the replica index over plain HTTP: $code $(cat "$WORK/body")"
[ "$(get api/v1/replica/index "${auth[@]}")" = 200 ] || fail "the replica index: $(cat "$WORK/body")"
python3 - "$WORK/body" <<'PY' || fail "the index lists what it must not, or lacks what it must"
import json, sys
paths = {f["path"] for f in json.load(open(sys.argv[1]))["files"]}
assert "site.json" in paths and "store/refs/channels/gold" in paths, paths
assert any(p.startswith("exports/") and p.endswith(".verity") for p in paths), paths
assert "layers/base/etc/skel/.bashrc" in paths and "layers/labs/lab4" in paths, paths
bad = [p for p in paths if p.startswith(("keys", "goldroot.db", "logs", "uploads")) or "leak" in p]
assert not bad, bad
PY
for path in keys/site.key keys/admin.token goldroot.db exports/leak.erofs layers/labs/lab4/usr/local/bin/tool \
  store/refs/../../keys/site.key; do
  code=$(get "api/v1/replica/files/$path" "${auth[@]}")
  [ "$code" = 404 ] || fail "the replica route gave $path: $code"
done
ok "the replica routes: admin token and TLS only; keys, the database and symlinks never served"

make_host_key "$WORK/pc01.key"
[ "$(host_get "$WORK/pc01.key" "http://127.0.0.1:$port/api/v1/boot/52:54:00:aa:00:01")" = 200 ] ||
  fail "pc01's manifest: $(cat "$WORK/body")"
python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); assert m["host"]["servers"] == [sys.argv[2]], m["host"]' \
  "$WORK/body" "http://127.0.0.1:$sec_port/" || fail "the manifest does not name the peer: $(cat "$WORK/body")"
ok "serve --peer names the other server in every host's signed manifest"

# 2. Making the secondary.
mkdir "$WORK/keys-copy"
cp -a "$primary/keys/." "$WORK/keys-copy/"
expect_fail "a secondary over plain HTTP is refused" sec init --secondary-of "http://127.0.0.1:$port/" --keys-from "$WORK/keys-copy"
grep -q "in clear" <<<"$LAST_ERROR" || fail "the sentence does not say why: $LAST_ERROR"
mkdir "$WORK/no-token" && cp "$primary/keys/site.key" "$primary/keys/tls.key" "$primary/keys/tls.crt" "$WORK/no-token/"
expect_fail "keys without the admin token are refused" sec init --secondary-of "$tls_url" --keys-from "$WORK/no-token"
expect_fail "a primary site does not become a secondary" gr init --secondary-of "$tls_url" --keys-from "$WORK/keys-copy"
sec init --secondary-of "$tls_url" --keys-from "$WORK/keys-copy" --database "$GOLDROOT_TEST_DATABASE" >/dev/null
[ "$(stat -c %a "$secondary/keys/site.key")" = 600 ] || fail "the copied site key is not 0600"
cmp -s "$primary/keys/site.key" "$secondary/keys/site.key" || fail "the site key was not copied"
ok "init --secondary-of: https only, the primary's keys (0600), never over a primary"

# The replica set of a site, as "path kind mode uid gid sha256-or-target" lines.
listing() {
  (cd "$1" && find site.json store/channel-journal layers store/objects store/refs exports \
      -mindepth 0 \( -path exports/uki -o -path exports/initrd -o -name '*.goldroot-replica-part' \) -prune -o -print 2>/dev/null |
    grep -v '^layers$\|^store/objects$\|^store/refs$\|^exports$' | sort | while read -r p; do
      if [ -L "$p" ]; then echo "$p l $(readlink "$p")"
      elif [ -d "$p" ]; then case $p in layers/*) echo "$p d $(stat -c '%a %u %g' "$p")";; esac
      else echo "$p f $(stat -c '%a %u %g' "$p") $(sha256sum < "$p" | cut -c1-64)"; fi
    done) | grep -v "leak.erofs"
}
same_as_primary() {
  listing "$primary" > "$WORK/primary.list"
  listing "$secondary" > "$WORK/secondary.list"
  diff "$WORK/primary.list" "$WORK/secondary.list" >&2 || fail "$1: the secondary differs from the primary"
}

# 3. The first pull copies everything; the second nothing.
sec site replicate > "$WORK/pull1" || fail "the first pull: $(cat "$WORK/pull1")"
same_as_primary "after the first pull"
grep -q "^from $tls_url: fetched [1-9][0-9]* files" "$WORK/pull1" || fail "the first pull says: $(cat "$WORK/pull1")"
[ "$(stat -c '%a %u %g' "$secondary/layers/labs/lab3/usr/local/bin/tool")" = "4755 1000 50" ] ||
  fail "a setuid layer file lost its mode or owner"
[ "$(readlink "$secondary/layers/base/etc/localtime")" = /usr/share/zoneinfo/Europe/Berlin ] || fail "a layer symlink"
[ ! -e "$secondary/exports/leak.erofs" ] && [ ! -e "$secondary/goldroot.db-wal" ] || fail "the bait crossed"
sec site replicate > "$WORK/pull2"
grep -q "fetched 0 files" "$WORK/pull2" || fail "a second pull fetched again: $(cat "$WORK/pull2")"
ok "a pull copies images, exports, layers (symlinks, modes, owners), refs and settings; the next copies nothing"

# 4. Commands that change the site refuse on the secondary.
expect_fail "image import on the secondary" sec image import "$src" --name other
grep -q "secondary of $tls_url: 'image import other' would change it; run it on the primary" <<<"$LAST_ERROR" ||
  fail "the refusal does not name the primary: $LAST_ERROR"
expect_fail "promote on the secondary" sec promote
expect_fail "site set on the secondary" sec site set fetch=demand
sec site show | grep -qx "secondary-of=$tls_url" || fail "site show does not say whose secondary it is"
sec site show | grep -qx "enroll=first-use" || fail "the settings did not cross"
ok "commands that change the site name the primary on a secondary"

# 5. Only a change crosses; what the primary removes goes.
echo v2 > "$src/etc/version"
gr image import "$src" --name lab >/dev/null
gr image import "$src" --name scratch >/dev/null
gr image export lab >/dev/null
gr channel set gold lab >/dev/null
cp "$primary/logs/access.log" "$WORK/access.before"
sec site replicate > "$WORK/pull3"
same_as_primary "after a new image"
new_bytes=$(python3 - "$primary/logs/access.log" "$(wc -l < "$WORK/access.before")" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):]
print(sum(json.loads(l)["bytes"] for l in lines if "/api/v1/replica/files/" in json.loads(l)["path"]))
PY
)
image_bytes=$(du -cb "$primary"/exports/*.erofs | tail -1 | cut -f1)
[ "$new_bytes" -lt "$image_bytes" ] || fail "the second image's pull sent $new_bytes bytes, as much as all images ($image_bytes)"
ok "a new image crosses as its new files only ($new_bytes bytes; all exports are $image_bytes)"

# 6. An interrupted copy resumes; a damaged part or copy is repaired.
big=$(cd "$secondary" && ls exports/*.erofs | head -1)
size=$(stat -c %s "$primary/$big")
head -c $((size / 2)) "$primary/$big" > "$secondary/$big.goldroot-replica-part"
rm "$secondary/$big"
cp "$primary/logs/access.log" "$WORK/access.before"
sec site replicate >/dev/null
sent=$(python3 - "$primary/logs/access.log" "$(wc -l < "$WORK/access.before")" "$big" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):]
print(sum(json.loads(l)["bytes"] for l in lines if json.loads(l)["path"].endswith(sys.argv[3])))
PY
)
[ "$sent" -le $((size - size / 2 + 1024)) ] || fail "a resumed copy sent $sent bytes of $size"
same_as_primary "after a resumed copy"
head -c $((size / 2)) /dev/urandom > "$secondary/$big.goldroot-replica-part"
rm "$secondary/$big"
sec site replicate >/dev/null
same_as_primary "after a garbage part"
printf 'XXXX' | dd of="$secondary/$big" bs=1 seek=4096 conv=notrunc status=none
sec site replicate > "$WORK/pull4"
same_as_primary "after damage to a copy"
grep -q "fetched 1 files" "$WORK/pull4" || fail "the damaged copy: $(cat "$WORK/pull4")"
ok "an interrupted copy resumes ($sent of $size bytes), a garbage part and a damaged copy are fetched again"

rm -rf "$layers/labs/lab3/usr/local"
gr image rm scratch >/dev/null
sec site replicate > "$WORK/pull5"
same_as_primary "after removals"
[ ! -e "$secondary/layers/labs/lab3/usr/local/bin/tool" ] || fail "a removed layer file stayed"
[ ! -e "$secondary/store/refs/images/scratch" ] || fail "a removed image's ref stayed"
ok "what the primary removed goes from the secondary"

# 7. A secondary's serve follows a promotion.
sec site replicate > "$WORK/pull6"
grep -q "fetched 0 files" "$WORK/pull6" || fail "nothing changed, yet a pull fetched: $(cat "$WORK/pull6")"
GOLDROOT_SITE=$secondary "$GOLDROOT" serve --listen "127.0.0.1:$sec_port" --tls-listen "127.0.0.1:$sec_tls" \
  --replica-interval 0.5 > "$WORK/secondary.log" 2>&1 &
secondary_pid=$!
on_exit "kill $secondary_pid 2>/dev/null; wait $secondary_pid 2>/dev/null"
for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$sec_port/" && break; sleep 0.1; done
grep -q "secondary of $tls_url" "$WORK/secondary.log" || fail "serve does not say it is a secondary: $(cat "$WORK/secondary.log")"
before=$(cat "$secondary/store/refs/channels/gold")
echo v3 > "$src/etc/version"
gr image import "$src" --name lab >/dev/null
gr image export lab --json > "$WORK/v3.json"
gr channel set gold lab >/dev/null
want=$(cat "$primary/store/refs/channels/gold")
[ "$want" != "$before" ] || fail "the test did not move gold"
start=$(date +%s.%N)
for _ in $(seq 1 200); do [ "$(cat "$secondary/store/refs/channels/gold")" = "$want" ] && break; sleep 0.1; done
[ "$(cat "$secondary/store/refs/channels/gold")" = "$want" ] || fail "the secondary's serve did not follow gold: $(cat "$WORK/secondary.log")"
took=$(python3 -c "import time; print(round(time.time() - $start, 2))")
a=$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/channels")
b=$(curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$sec_port/api/v1/channels")
[ "$a" = "$b" ] || fail "the two servers answer the channels differently: $a / $b"
[ "$(host_get "$WORK/pc01.key" "http://127.0.0.1:$sec_port/api/v1/boot/52:54:00:aa:00:01")" = 200 ] ||
  fail "the secondary does not answer pc01's manifest: $(cat "$WORK/body")"
python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); assert m["host"]["name"] == "pc01" and m["commit"] == sys.argv[2], m' \
  "$WORK/body" "$want" || fail "the secondary's manifest for pc01 is not gold's: $(cat "$WORK/body")"
gr status --json > "$WORK/status.primary"; sec status --json > "$WORK/status.secondary"
cmp -s "$WORK/status.primary" "$WORK/status.secondary" || fail "goldroot status differs between the two sites"
ok "a secondary's serve follows a change of gold within ${took}s, answers pc01's manifest from the shared inventory, and status is the same on both"

kill "$primary_pid"; wait "$primary_pid" 2>/dev/null || true
sleep 1.5
grep -q "replica: .*serving what this secondary has" "$WORK/secondary.log" || fail "the secondary did not say the primary is gone: $(cat "$WORK/secondary.log")"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$sec_port/api/v1/channels" -H "Authorization: Bearer $token")
[ "$code" = 200 ] || fail "the secondary stopped answering when the primary went: $code"
ok "with the primary gone the secondary says so once and keeps serving"
# A running on-demand client whose server is gone reads its image from the
# peer (--mirror, from the manifest's "servers"): the real daemon, the
# primary's URLs, the primary stopped.
read -r sha root salt blocks tree_size < <(python3 -c '
import json, sys
e = json.load(open(sys.argv[1])); v = e["verity"]
print(e["sha256"], v["root_hash"], v["salt"], v["data_blocks"], v["tree_size"])' "$WORK/v3.json")
start=$(date +%s.%N)
"$GOLDROOT_BLOCKD" --prefetch --cache-dir "$WORK/client-cache" \
  --image-url "http://127.0.0.1:$port/images/$sha.erofs" --tree-url "http://127.0.0.1:$port/images/$sha.verity" \
  --root-hash "$root" --salt "$salt" --data-blocks "$blocks" --tree-size "$tree_size" \
  --mirror "http://127.0.0.1:$sec_port/" --status "$WORK/client.status" 2> "$WORK/blockd.log" ||
  fail "goldroot-blockd did not turn to the peer: $(cat "$WORK/blockd.log")"
took=$(python3 -c "import time; print(round(time.time() - $start, 2))")
image=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["path"])' "$WORK/v3.json")
cmp -n "$(stat -c %s "$image")" "$WORK/client-cache/$root.image" "$image" || fail "the client's copy differs from the export"
grep -q "trying the site's other servers" "$WORK/blockd.log" || fail "blockd did not say it turned: $(cat "$WORK/blockd.log")"
ok "with its server stopped, a client's goldroot-blockd read the whole image from the peer in ${took}s"
finish

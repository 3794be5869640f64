#!/usr/bin/env bash
# `goldroot serve` on loopback, as a booting client sees it: the signed
# manifest per MAC, the artifact and kernel/initrd under content-addressed
# URLs (with Range and ETag), the host's rendered layer, the JSON API, and
# clear answers for unknown or malformed MACs and unexported images.
source "$(dirname "$0")/lib.sh"
command -v mkfs.erofs >/dev/null || require "mkfs.erofs (erofs-utils)"

gr init >/dev/null
src="$WORK/src"
mkdir -p "$src/boot" "$src/etc"
head -c 300000 /dev/urandom > "$src/boot/vmlinuz-6.1.0-28-amd64"
head -c 200000 /dev/urandom > "$src/boot/initrd.img-6.1.0-28-amd64"
echo "template" > "$src/etc/hostname"
gr image import "$src" --name lab >/dev/null
gr network add 10.9.0.0/24 --gateway 10.9.0.1 --dns 10.9.0.2 >/dev/null
gr lab add lab3 --network 10.9.0.0/24 >/dev/null
gr host add pc01 --mac 52:54:00:aa:00:01 --ip 10.9.0.11 --lab lab3 >/dev/null
gr host add pc02 --mac 52:54:00:aa:00:02 --ip 10.9.0.12 --lab lab3 --channel test >/dev/null
mkdir -p "$GOLDROOT_SITE/layers/base/etc" "$GOLDROOT_SITE/layers/labs/lab3/etc"
echo "welcome to goldroot" > "$GOLDROOT_SITE/layers/base/etc/motd"
echo "{{ hostname }}" > "$GOLDROOT_SITE/layers/labs/lab3/etc/hostname.tmpl"
# The hosts' keys, enrolled by the admin (what goldroot-boot would present).
for host in pc01 pc02; do
  make_host_key "$WORK/$host.key"
  gr host enroll $host --key "$WORK/$host.key.pub" >/dev/null
done

# A port nothing listens on now (a random guess could clash with another test).
port=$(free_port)
url="http://127.0.0.1:$port"
"$GOLDROOT" serve --listen "127.0.0.1:$port" > "$WORK/serve.log" 2>&1 &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
# Up to 30 s: the other tests of a parallel run load the machine.
for _ in $(seq 1 300); do curl -s "$url/api/v1/hosts" >/dev/null && break; sleep 0.1; done

code() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }
pc01() { host_get "$WORK/pc01.key" "$@"; }
[ "$(pc01 "$url/api/v1/boot/52:54:00:aa:00:01")" = 409 ] || fail "channel gold unset should be 409"
grep -q "channel set gold" "$WORK/body" || fail "409 does not say what to do: $(cat "$WORK/body")"
gr channel set gold lab >/dev/null
[ "$(pc01 "$url/api/v1/boot/52:54:00:aa:00:01")" = 409 ] || fail "unexported image should be 409"
grep -q "image export" "$WORK/body" || fail "409 does not say to export"
ok "a host whose image is not ready gets 409 with the command that fixes it"

gr image export lab >/dev/null
[ "$(pc01 "$url/api/v1/boot/52-54-00-AA-00-01")" = 200 ] || fail "manifest by hyphenated MAC: $(cat "$WORK/body")"
cp "$WORK/body" "$WORK/manifest.json"
[ "$(pc01 "$url/layers/pc01.tar")" = 200 ] || fail "layer: $(cat "$WORK/body")"
cp "$WORK/body" "$WORK/layer.tar"
python3 - "$WORK/manifest.json" "$url" "$WORK" "$(gr host keys --json | python3 -c 'import json,sys; print([h for h in json.load(sys.stdin) if h["host"] == "pc01"][0]["key_id"])')" <<'PY' || fail "manifest contents"
import hashlib, json, sys, time, urllib.request
m = json.load(open(sys.argv[1])); url = sys.argv[2]
h = m["host"]
assert m["version"] == 2 and h["name"] == "pc01" and h["mac"] == "52:54:00:aa:00:01", h
assert h["mode"] == "normal" and h["key_id"] == sys.argv[4], (h, sys.argv[4])
assert abs(h["issued_at"] - time.time()) < 60 and h["expires_at"] > h["issued_at"], h
layer = open(sys.argv[3] + "/layer.tar", "rb").read()
assert hashlib.sha256(layer).hexdigest() == h["layer"]["sha256"] and len(layer) == h["layer"]["size"], h
get = lambda path: urllib.request.urlopen(url + path).read()
image = get(m["image"]["url"])
assert hashlib.sha256(image).hexdigest() == m["image"]["sha256"] and len(image) == m["image"]["size"]
for part in ("kernel", "initrd"):
    data = get("/objects/" + m[part]["sha256"])
    assert hashlib.sha256(data).hexdigest() == m[part]["sha256"], part
assert m["signature"]["algorithm"] == "ed25519"
open(sys.argv[3] + "/image.url", "w").write(m["image"]["url"])
PY
ok "the manifest is bound to pc01 (MAC, mode, key, layer sha256, times) and names an artifact, kernel and initrd the server hands out byte for byte"

image_url="$url$(cat "$WORK/image.url")"
headers=$(curl -s -D - -o /dev/null -r 100-199 "$image_url")
echo "$headers" | grep -q "^HTTP/1.1 206" || fail "Range: $headers"
echo "$headers" | grep -qi "^cache-control: .*immutable" || fail "immutable caching"
etag=$(echo "$headers" | grep -i '^etag:' | cut -d' ' -f2 | tr -d '\r')
[ "$(code -H "If-None-Match: $etag" "$image_url")" = 304 ] || fail "ETag revalidation"
ok "artifacts are served with Range, ETag and immutable caching"

# The erofs export's dm-verity tree, by the image's digest, like the image.
record=$(ls "$GOLDROOT_SITE"/exports/*.erofs.json)
tree_url="$url$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"]["verity"]["tree_url"])' "$WORK/manifest.json")"
[ "$tree_url" = "$url/images/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$record").verity" ] ||
  fail "tree URL $tree_url"
tree_file="${record%.json}.verity"
headers=$(curl -s -D - -o "$WORK/range" -r 100-4195 "$tree_url")
echo "$headers" | grep -q "^HTTP/1.1 206" || fail "tree Range: $headers"
echo "$headers" | grep -qi "^cache-control: .*immutable" || fail "tree immutable caching"
cmp -s "$WORK/range" <(tail -c +101 "$tree_file" | head -c 4096) || fail "tree Range bytes"
curl -s -o "$WORK/tree" "$tree_url"
python3 - "$WORK/tree" "$record" "$WORK/manifest.json" <<'PY' || fail "the served tree"
import hashlib, json, sys
tree = open(sys.argv[1], "rb").read()
r = json.load(open(sys.argv[2]))["verity"]
m = json.load(open(sys.argv[3]))
assert hashlib.sha256(tree).hexdigest() == r["tree_sha256"] and len(tree) == r["tree_size"]
assert m["image"]["verity"]["tree_size"] == len(tree) and m["image"]["verity"]["root_hash"] == r["root_hash"]
assert m["host"]["fetch"] == "full", m["host"]   # the site's default
PY
[ "$(code "$url/images/$(printf '%064d' 0).verity")" = 404 ] || fail "unknown tree"
ok "the image's verity tree is served at /images/<sha256>.verity with Range, as its record says"

# An update patch: only "<image>.patch-<64 lowercase hex>" beside an
# exported image, the file of that name in the exports, nothing else.
zeros=$(printf '%064d' 0)
artifact=${record%.json}
[ "$(code "$image_url.patch-$zeros")" = 404 ] || fail "a patch that is not there"
echo "patch bytes" >"$artifact.patch-$zeros"
[ "$(code "$image_url.patch-$zeros")" = 200 ] && [ "$(cat "$WORK/body")" = "patch bytes" ] || fail "the patch beside the image"
[ "$(code -r 2-6 "$image_url.patch-$zeros")" = 206 ] && [ "$(cat "$WORK/body")" = "tch b" ] || fail "a patch Range"
upper=$(printf '%064d' 0 | tr 0 A)
cp "$artifact.patch-$zeros" "$artifact.patch-$upper"
for bad in "patch-$upper" "patch-${zeros:1}" "patch-${zeros}0"; do
  [ "$(code "$image_url.$bad")" = 404 ] || fail "$bad: $(cat "$WORK/body")"
done
for bad in "patch-../../keys/site.key" "patch-$zeros/../../../keys/site.key"; do
  status=$(code --path-as-is "$image_url.$bad")
  [ "$status" = 400 ] || [ "$status" = 404 ] || fail "$bad: $status $(cat "$WORK/body")"
done
[ "$(code "$url/images/$zeros.erofs.patch-$zeros")" = 404 ] || fail "a patch of an image not exported"
rm "$artifact.patch-$zeros" "$artifact.patch-$upper"
ok "update patches are served only by their exact name beside an exported image"

# fetch=: the host's own, else its lab's, else the site's, in the signed binding.
fetch_of() {
  [ "$(pc01 "$url/api/v1/boot/52:54:00:aa:00:01")" = 200 ] || fail "manifest: $(cat "$WORK/body")"
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["host"]["fetch"])' "$WORK/body"
}
gr lab set lab3 fetch=demand >/dev/null
[ "$(fetch_of)" = demand ] || fail "lab fetch=demand"
gr lab list | grep -q "^lab3 .* demand " || fail "lab list shows no fetch: $(gr lab list)"
gr host set pc01 fetch=full >/dev/null
[ "$(fetch_of)" = full ] || fail "host fetch=full over its lab's demand"
gr host show pc01 | grep -q "^fetch: *full$" || fail "host show: $(gr host show pc01)"
gr host set pc01 fetch= >/dev/null; gr lab set lab3 fetch=inherit >/dev/null
gr site set fetch=demand >/dev/null
[ "$(fetch_of)" = demand ] || fail "site fetch=demand"
gr host show pc01 | grep -q "^fetch: *demand (site)$" || fail "host show: $(gr host show pc01)"
expect_fail "fetch=lazy" gr host set pc01 fetch=lazy
ok "fetch= of the host, else its lab, else the site ends up in the host's signed manifest"

# A damaged tree is not offered: the host fetches the image in full.
kill "$server"; wait "$server" 2>/dev/null || true
printf 'XXXXXXXX' | dd of="$tree_file" bs=1 seek=64 conv=notrunc status=none
"$GOLDROOT" serve --listen "127.0.0.1:$port" > "$WORK/serve1.log" 2>&1 &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
for _ in $(seq 1 300); do curl -s "$url/" >/dev/null && break; sleep 0.1; done
[ "$(code "$tree_url")" = 404 ] || fail "a damaged tree is still served"
[ "$(fetch_of)" = full ] || fail "demand without a good tree"
python3 -c 'import json,sys; assert "verity" not in json.load(open(sys.argv[1]))["image"]' "$WORK/body" ||
  fail "a manifest names a damaged tree"
grep -q "not offering .*verity, which differs from its record" "$WORK/serve1.log" || fail "no word of it: $(cat "$WORK/serve1.log")"
rm "$tree_file"; gr image export lab >/dev/null
[ "$(code "$tree_url")" = 200 ] || fail "the tree written again is not served"
[ "$(fetch_of)" = demand ] || fail "demand with the tree back"
ok "a damaged tree is refused with one line (the host then fetches in full) until export writes it again"
gr site set fetch=full >/dev/null

# The dashboard cannot be framed (clickjacking), sniffed or load foreign code;
# a smuggling-shaped request (two lengths) is refused.
headers=$(curl -s -D - -o /dev/null "$url/")
for header in "content-security-policy: default-src 'self'; frame-ancestors 'none'" \
              "x-frame-options: DENY" "x-content-type-options: nosniff" "referrer-policy: no-referrer"; do
  echo "$headers" | tr -d '\r' | grep -qiF "$header" || fail "dashboard header '$header': $headers"
done
[ "$(code -X POST -H 'Content-Type: application/json' -H 'Content-Length: 2' -H 'Content-Length: 3' \
     --data-binary '{}' "$url/api/v1/reports")" = 400 ] || fail "duplicate Content-Length: $(cat "$WORK/body")"
ok "every response forbids framing and sniffing; duplicate Content-Length is a 400"

mkdir "$WORK/layer" && tar -xf "$WORK/layer.tar" -C "$WORK/layer"
[ "$(cat "$WORK/layer/etc/hostname")" = pc01 ] || fail "hostname template"
[ "$(cat "$WORK/layer/etc/motd")" = "welcome to goldroot" ] || fail "base layer"
ok "the host's layer bundle carries its rendered templates"

[ "$(pc01 "$url/api/v1/boot/52:54:00:aa:00:99")" = 404 ] || fail "unknown MAC"
[ "$(pc01 "$url/api/v1/boot/not-a-mac")" = 400 ] || fail "malformed MAC"
grep -q error "$WORK/body" || fail "malformed MAC body"
[ "$(host_get "$WORK/pc02.key" "$url/api/v1/boot/52:54:00:aa:00:02")" = 409 ] || fail "pc02 follows test, which is unset"
[ "$(code "$url/objects/$(printf '%064d' 0)")" = 404 ] || fail "unknown object"
[ "$(code "$url/images/../site.json")" != 200 ] || fail "traversal"
ok "unknown and malformed MACs, unset channels and unknown digests get clear errors"

admin=(-H "Authorization: Bearer $(cat "$GOLDROOT_SITE/keys/admin.token")")
curl -s "${admin[@]}" "$url/api/v1/hosts" | python3 -c '
import json, sys
hosts = {h["name"]: h for h in json.load(sys.stdin)}
assert hosts["pc01"]["effective_channel"] == "gold" and hosts["pc02"]["effective_channel"] == "test", hosts
assert hosts["pc01"]["effective_mode"] == "normal"' || fail "hosts API"
curl -s "${admin[@]}" "$url/api/v1/channels" | grep -q '"gold"' || fail "channels API"
curl -s "${admin[@]}" "$url/api/v1/images" | grep -q '"lab"' || fail "images API"
ok "the JSON API lists hosts with their effective mode and channel, channels and images"

# Admin commands keep working while the server runs.
gr image import "$src" --name lab2 >/dev/null || fail "import blocked by the server"
ok "the server holds no site lock"
grep -q '"status":200' "$GOLDROOT_SITE/logs/access.log" || fail "access log"
ok "requests land in the structured access log"

# A damaged export (same size, other bytes) is not offered after a restart.
kill "$server"; wait "$server" 2>/dev/null || true
erofs=$(ls "$GOLDROOT_SITE"/exports/*.erofs)
printf 'XXXXXXXX' | dd of="$erofs" bs=1 seek=4096 conv=notrunc status=none
"$GOLDROOT" serve --listen "127.0.0.1:$port" > "$WORK/serve2.log" 2>&1 &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
for _ in $(seq 1 300); do curl -s "$url/" >/dev/null && break; sleep 0.1; done
[ "$(code "$image_url")" = 404 ] || fail "a damaged export is still served"
[ "$(pc01 "$url/api/v1/boot/52:54:00:aa:00:01")" = 500 ] && grep -q "differs from its record" "$WORK/body" ||
  fail "the manifest of a damaged export: $(cat "$WORK/body")"
grep -q "not offering .*differs from its record" "$WORK/serve2.log" || fail "no word of it: $(cat "$WORK/serve2.log")"
ok "an export whose bytes differ from its record is refused, with one line saying so"

# A building cache's nginx configuration: printed without a site, checked input.
GOLDROOT_SITE=$WORK/no-site gr serve nginx-config --upstream http://10.1.0.1:8080 --listen 10.2.0.1:8080 \
  > "$WORK/cache.conf" || fail "serve nginx-config"
grep -q "server 10.1.0.1:8080;" "$WORK/cache.conf" && grep -q "listen 10.2.0.1:8080;" "$WORK/cache.conf" &&
  grep -q "proxy_cache_lock on;" "$WORK/cache.conf" || fail "the printed configuration: $(cat "$WORK/cache.conf")"
if command -v nginx >/dev/null; then
  sed -i "s|/var/cache/nginx/goldroot|$WORK/nginx-cache|; s|listen 10.2.0.1:8080|listen 127.0.0.1:$port|" "$WORK/cache.conf"
  printf 'pid %s;\nerror_log %s;\nevents {}\nhttp { include %s; }\n' "$WORK/nginx.pid" "$WORK/nginx-error.log" \
    "$WORK/cache.conf" > "$WORK/nginx.conf"
  nginx -t -q -c "$WORK/nginx.conf" -p "$WORK" 2>"$WORK/nginx-t.log" || fail "nginx -t: $(cat "$WORK/nginx-t.log")"
fi
expect_fail "an https upstream" gr serve nginx-config --upstream https://10.1.0.1:8443
expect_fail "a listen address with nginx syntax in it" gr serve nginx-config --upstream http://10.1.0.1:8080 --listen "0.0.0.0:80; include /etc/passwd"
finish

#!/usr/bin/env bash
# A building cache (issue #20): nginx with the configuration `goldroot serve
# nginx-config` prints, in front of a real `goldroot serve`, on three
# network namespaces — the central server (10.88.0.1), the building's cache
# (10.88.0.2 towards the server, 10.89.0.1 towards its clients) and the
# building's clients (10.89.0.11-13, no route to the server: everything
# they get comes through the cache).
#
#   - three clients read the image by 64 KiB Range requests as
#     goldroot-blockd does (tests/range_reader.py), first scattered units,
#     then the whole image at once in different orders: the central
#     server's access log shows each slice of the image sent once to the
#     building, and each client reassembles the exact image; the same reads
#     without the cache cost the server three images (the figures print);
#   - the iPXE script a client gets through the cache names the cache, so
#     its kernel, initrds, manifest, image and layer come through it;
#   - per-host requests pass through and stay authenticated: a signed
#     manifest and layer reach the server each time (its log shows them),
#     an unsigned or wrongly signed one is refused through the cache
#     exactly as directly, and no host's layer or manifest is ever answered
#     from the cache (a path that normalises onto an image never fetches a
#     layer);
#   - a signed agent report passes, a forged one is refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"
require_root
command -v nginx >/dev/null || require "nginx (nginx-light)"
command -v mkfs.erofs >/dev/null || require "mkfs.erofs (erofs-utils)"
nginx -V 2>&1 | grep -q with-http_slice_module || require "nginx with the slice module"
here=$(cd "$(dirname "$0")" && pwd)

ns_central=grc-central-$$ ns_building=grc-bldg-$$ ns_clients=grc-clients-$$
central=10.88.0.1 building_up=10.88.0.2 building=10.89.0.1
clients=(10.89.0.11 10.89.0.12 10.89.0.13)
remove_namespaces() { local ns; for ns in $ns_central $ns_building $ns_clients; do ip netns del "$ns" 2>/dev/null; done; }
on_exit remove_namespaces
for ns in $ns_central $ns_building $ns_clients; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
ip -n $ns_central link add c0 type veth peer name b0 netns $ns_building
ip -n $ns_building link add b1 type veth peer name k0 netns $ns_clients
ip -n $ns_central addr add $central/24 dev c0
ip -n $ns_building addr add $building_up/24 dev b0
ip -n $ns_building addr add $building/24 dev b1
for address in "${clients[@]}"; do ip -n $ns_clients addr add "$address/24" dev k0; done
ip -n $ns_central link set c0 up
ip -n $ns_building link set b0 up
ip -n $ns_building link set b1 up
ip -n $ns_clients link set k0 up
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# curl as the building's clients (host_get's curls too).
curl() { ip netns exec "$ns_clients" /usr/bin/curl "$@"; }

# --- the site: an image of 24 MiB of incompressible files, three hosts ---------
gr init >/dev/null
src="$WORK/src"
mkdir -p "$src/boot" "$src/etc" "$src/usr/share/data"
head -c 400000 /dev/urandom > "$src/boot/vmlinuz-6.1.0-28-amd64"
head -c 300000 /dev/urandom > "$src/boot/initrd.img-6.1.0-28-amd64"
for n in 1 2 3; do head -c $((8 << 20)) /dev/urandom > "$src/usr/share/data/blob$n"; done
echo template > "$src/etc/hostname"
gr image import "$src" --name lab >/dev/null
gr image export lab >/dev/null
gr channel set gold lab >/dev/null
gr lab add lab1 >/dev/null
for n in 1 2 3; do
  gr host add pc0$n --mac 52:54:00:00:88:0$n --lab lab1 >/dev/null
  make_host_key "$WORK/pc0$n.key"
  gr host enroll pc0$n --key "$WORK/pc0$n.key.pub" >/dev/null
done
mkdir -p "$GOLDROOT_SITE/layers/hosts/pc01/etc/ssh"
echo "pc01's private host key" > "$GOLDROOT_SITE/layers/hosts/pc01/etc/ssh/ssh_host_ed25519_key"

ip netns exec $ns_central "$GOLDROOT" serve --listen $central:8080 >"$WORK/serve.log" 2>&1 &
serve_pid=$!
on_exit "kill $serve_pid; wait $serve_pid"
for _ in $(seq 1 100); do
  in_ns $ns_building /usr/bin/curl -s -o /dev/null "http://$central:8080/api/v1/challenge" && break
  sleep 0.1
done
access_log=$GOLDROOT_SITE/logs/access.log
# sent_once PATH SIZE: the server's log shows PATH's SIZE bytes sent exactly
# once: no range twice, SIZE bytes in all.
sent_once() {
  grep "\"path\":\"$1\"" "$access_log" | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin]
ranges = [l.get("range", "whole") for l in lines]
assert len(ranges) == len(set(ranges)), "a range went twice: %s" % sorted(ranges)
assert sum(l["bytes"] for l in lines) == int(sys.argv[1]), "%d bytes" % sum(l["bytes"] for l in lines)
' "$2"
}

# --- the cache, from the printed configuration -----------------------------------
chmod 755 "$WORK"  # nginx's workers run as nobody
nginx_dir=$WORK/nginx
start_cache() {  # a fresh cache directory each time
  start_building_cache $ns_building "$nginx_dir" "http://$central:8080" "$building:8080" 1g
}
stop_cache() {
  [ -n "${nginx_pid:-}" ] || return 0
  kill "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
  nginx_pid=
}
on_exit stop_cache
start_cache
CACHE=http://$building:8080

curl -s --max-time 3 -o /dev/null "http://$central:8080/api/v1/challenge" &&
  fail "the building's clients reach the central server directly"
ok "the building's clients reach only the cache; the cache reaches the server"

# --- the iPXE script through the cache names the cache ----------------------------
script=$(curl -sf "$CACHE/boot/52-54-00-00-88-01.ipxe") || fail "iPXE script through the cache"
grep -q "goldroot.server=$CACHE" <<<"$script" || fail "the script's server is not the cache: $script"
grep -q "$CACHE/objects/" <<<"$script" || fail "the script's kernel is not fetched through the cache: $script"
grep -q "http://$central" <<<"$script" && fail "the script names the central server: $script"
kernel_url=$(grep -o "$CACHE/objects/[0-9a-f]*" <<<"$script" | head -1)
for _ in 1 2; do curl -sf -o "$WORK/kernel" "$kernel_url" || fail "kernel through the cache"; done
cmp -s "$WORK/kernel" "$src/boot/vmlinuz-6.1.0-28-amd64" || fail "the kernel through the cache differs"
[ "$(curl -s -o /dev/null -w '%header{x-cache-status}' "$kernel_url")" = HIT ] || fail "the kernel is not cached"
sent_once "${kernel_url#"$CACHE"}" "$(stat -c %s "$WORK/kernel")" ||
  fail "the kernel did not leave the server exactly once: $(grep "${kernel_url#"$CACHE"}" "$access_log")"
ok "through the cache, a client's iPXE script names the cache (goldroot.server, kernel, initrds); its kernel leaves the server once"

# --- the signed manifest, through the cache ----------------------------------------
manifest_requests() { grep -c "\"path\":\"/api/v1/boot/52:54:00:00:88:0$1\"" "$access_log" || true; }
before=$(manifest_requests 1)
for _ in 1 2; do
  [ "$(host_get "$WORK/pc01.key" "$CACHE/api/v1/boot/52:54:00:00:88:01")" = 200 ] ||
    fail "pc01's manifest through the cache: $(cat "$WORK/body")"
done
cp "$WORK/body" "$WORK/manifest.json"
[ "$(manifest_requests 1)" = $((before + 2)) ] || fail "pc01's manifests did not all reach the server"
headers=$(curl -s -D - -o /dev/null "$CACHE/api/v1/challenge")
grep -qi '^cache-control: private, no-store' <<<"$headers" || fail "challenge headers: $headers"
grep -qi '^x-cache-status' <<<"$headers" && fail "a challenge went through the cache's store: $headers"
read -r image_path image_size image_sha tree_path tree_size < <(python3 - "$WORK/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
image = m["image"]
verity = image.get("verity", {})
print("/images/" + image["url"].rsplit("/", 1)[-1], image["size"], image["sha256"],
      "/images/" + verity.get("tree_url", "none").rsplit("/", 1)[-1], verity.get("tree_size", 0))
PY
)
[ "$image_size" -gt $((20 << 20)) ] || fail "image size $image_size"
ok "pc01's signed manifest passes through the cache to the server each time (private, no-store), and names the image by digest"

# --- the image, by 64 KiB ranges: scattered, then whole, three clients at once -----
slice=65536  # the printed default, goldroot-blockd's unit
image_lines() {  # CLIENT-ADDRESS-PREFIX: the server's log lines for the image
  grep "\"path\":\"$image_path\"" "$access_log" | grep "\"client\":\"$1" || true
}
for i in 0 1 2; do
  ip netns exec $ns_clients python3 "$here/range_reader.py" "$CACHE$image_path" "$image_size" \
    --source "${clients[$i]}" --units 6 --seed $((i + 7)) --order shuffle --out "$WORK/units.$i" &
  readers[$i]=$!
done
for i in 0 1 2; do wait "${readers[$i]}" || fail "scattered reader $i failed"; done
expected_slices=$(cat "$WORK"/units.* | python3 -c "import sys; print(len({int(l) * 65536 // $slice for l in sys.stdin}))")
image_lines "$building_up" > "$WORK/scattered.log"
python3 - "$WORK/scattered.log" "$image_size" "$slice" "$expected_slices" <<'PY' || fail "scattered reads: $(cat "$WORK/scattered.log" | head)"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
size, slice_size, expected = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ranges = [l["range"] for l in lines]
assert all(l["status"] == 206 for l in lines), [l["status"] for l in lines]
assert len(ranges) == len(set(ranges)), "a range went twice: %s" % sorted(ranges)
assert len(ranges) == expected, "%d ranges for %d slices" % (len(ranges), expected)
for r in ranges:
    first, last = map(int, r.split("-"))
    assert first % slice_size == 0 and last == min(size, first + slice_size) - 1, r
PY
scattered_bytes=$(python3 -c "import json, sys; print(sum(json.loads(l)['bytes'] for l in open(sys.argv[1])))" "$WORK/scattered.log")
ok "3 clients reading 6 scattered 64 KiB units each: the server sent each touched 64 KiB slice once ($expected_slices slices, $scattered_bytes bytes)"

orders=(forward forward backward)
for i in 0 1 2; do
  ip netns exec $ns_clients python3 "$here/range_reader.py" "$CACHE$image_path" "$image_size" \
    --source "${clients[$i]}" --order "${orders[$i]}" > "$WORK/sha.$i" &
  readers[$i]=$!
done
for i in 0 1 2; do wait "${readers[$i]}" || fail "whole-image reader $i failed"; done
for i in 0 1 2; do
  [ "$(cat "$WORK/sha.$i")" = "$image_sha" ] || fail "client $i reassembled another image: $(cat "$WORK/sha.$i")"
done
image_lines "$building_up" > "$WORK/cached.log"
python3 - "$WORK/cached.log" "$image_size" "$slice" <<'PY' || fail "whole reads through the cache"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
size, slice_size = int(sys.argv[2]), int(sys.argv[3])
ranges = [l["range"] for l in lines]
assert len(ranges) == len(set(ranges)), "a range went twice"
assert len(ranges) == (size + slice_size - 1) // slice_size, "%d ranges" % len(ranges)
assert sum(l["bytes"] for l in lines) == size, "%d bytes for a %d-byte image" % (sum(l["bytes"] for l in lines), size)
PY
cached_bytes=$(python3 -c "import json, sys; print(sum(json.loads(l)['bytes'] for l in open(sys.argv[1])))" "$WORK/cached.log")
ok "3 clients reading the whole image at once (forward, forward, backward) get the exact image; with the scattered reads the server sent it once: $cached_bytes bytes for $image_size"

# The same whole reads without a cache, from the building's address.
before=$(grep -c "\"path\":\"$image_path\"" "$access_log")
for i in 0 1 2; do
  ip netns exec $ns_building python3 "$here/range_reader.py" "http://$central:8080$image_path" "$image_size" \
    --order "${orders[$i]}" > "$WORK/direct.$i" &
  readers[$i]=$!
done
for i in 0 1 2; do wait "${readers[$i]}" || fail "direct reader $i failed"; done
direct_bytes=$(grep "\"path\":\"$image_path\"" "$access_log" | tail -n +$((before + 1)) |
  python3 -c "import json, sys; print(sum(json.loads(l)['bytes'] for l in sys.stdin))")
[ "$direct_bytes" = $((3 * image_size)) ] || fail "direct reads cost $direct_bytes bytes"
# A whole download (fetch=full, goldroot-boot's image_download) of the
# cached image: from the cache alone.
before=$(grep -c "\"path\":\"$image_path\"" "$access_log")
[ "$(curl -s "$CACHE$image_path" | sha256sum | cut -c1-64)" = "$image_sha" ] || fail "a whole download through the cache"
[ "$(grep -c "\"path\":\"$image_path\"" "$access_log")" = "$before" ] || fail "a whole download of a cached image reached the server"
ok "a whole download of the image through the cache is the image, served without the server"
ok "figures: 3 clients reading the ${image_size}-byte image: the server sent $cached_bytes bytes through the building cache, $direct_bytes without it"

# The verity tree comes through the cache too.
if [ "$tree_path" != /images/none ]; then
  for _ in 1 2; do curl -sf -o "$WORK/tree" "$CACHE$tree_path" || fail "verity tree through the cache"; done
  [ "$(stat -c %s "$WORK/tree")" = "$tree_size" ] || fail "verity tree size"
  sent_once "$tree_path" "$tree_size" || fail "the verity tree did not leave the server exactly once"
  ok "the verity tree is fetched once for the building"
fi

# --- per-host requests stay per host ------------------------------------------------
layer_requests() { grep -c '"path":"/layers/pc01.tar"' "$access_log" || true; }
before=$(layer_requests)
[ "$(host_get "$WORK/pc01.key" "$CACHE/layers/pc01.tar")" = 200 ] || fail "pc01's layer through the cache: $(cat "$WORK/body")"
tar -xOf "$WORK/body" etc/ssh/ssh_host_ed25519_key | grep -q "pc01's private host key" || fail "pc01's layer"
# Another host, with its own valid key, unsigned, or with a bad signature.
[ "$(host_get "$WORK/pc02.key" "$CACHE/layers/pc01.tar")" = 403 ] || fail "pc02's key got pc01's layer through the cache"
grep -q "pc01's private host key" "$WORK/body" && fail "pc01's secret reached pc02 through the cache"
direct_status() { in_ns $ns_building /usr/bin/curl -s -o "$WORK/direct" -w '%{http_code}' "$@"; }
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "$CACHE/layers/pc01.tar")" = 401 ] || fail "unsigned layer through the cache: $(cat "$WORK/body")"
[ "$(direct_status "http://$central:8080/layers/pc01.tar")" = 401 ] || fail "unsigned layer, directly"
cmp -s "$WORK/body" "$WORK/direct" || fail "the cache's refusal differs: $(cat "$WORK/body") / $(cat "$WORK/direct")"
challenge=$(curl -s "$CACHE/api/v1/challenge" | python3 -c 'import json, sys; print(json.load(sys.stdin)["challenge"])')
bad=(-H "X-Goldroot-Challenge: $challenge" -H "X-Goldroot-Host-Signature: ed25519=$(head -c 64 /dev/zero | base64 -w0)")
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "${bad[@]}" "$CACHE/layers/pc01.tar")" = 403 ] || fail "badly signed layer through the cache: $(cat "$WORK/body")"
challenge=$(in_ns $ns_building /usr/bin/curl -s "http://$central:8080/api/v1/challenge" | python3 -c 'import json, sys; print(json.load(sys.stdin)["challenge"])')
bad=(-H "X-Goldroot-Challenge: $challenge" -H "X-Goldroot-Host-Signature: ed25519=$(head -c 64 /dev/zero | base64 -w0)")
[ "$(direct_status "${bad[@]}" "http://$central:8080/layers/pc01.tar")" = 403 ] || fail "badly signed layer, directly"
cmp -s "$WORK/body" "$WORK/direct" || fail "the cache's refusal differs: $(cat "$WORK/body") / $(cat "$WORK/direct")"
pc01_public=$(openssl pkey -in "$WORK/pc01.key" -pubout -outform DER | tail -c 32 | base64 -w0)
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "${bad[@]}" -H "X-Goldroot-Host-Key: $pc01_public" \
      "$CACHE/api/v1/boot/52:54:00:00:88:01")" = 403 ] ||
  fail "badly signed manifest through the cache: $(cat "$WORK/body")"
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "$CACHE/api/v1/boot/52:54:00:00:88:01")" = 401 ] || fail "unsigned manifest through the cache"
[ "$(direct_status "http://$central:8080/api/v1/boot/52:54:00:00:88:01")" = 401 ] || fail "unsigned manifest, directly"
# Four through the cache, two direct.
[ "$(layer_requests)" = $((before + 6)) ] || fail "not every layer request reached the server: $(grep layers "$access_log")"
# A path that nginx normalises onto an image asks the server for the image.
[ "$(curl -s --path-as-is -o "$WORK/body" -w '%{http_code}' -r 0-15 "$CACHE/layers/pc01.tar/../..$image_path")" = 206 ] ||
  fail "a dotted path through the cache: $(head -c 200 "$WORK/body")"
[ "$(layer_requests)" = $((before + 6)) ] || fail "a dotted path fetched a layer"
grep -q "pc01's private host key" "$nginx_dir"/cache -r && fail "pc01's layer is in the cache's store"
ok "per-host answers pass through: each layer request reaches the server, another host's key gets 403, no signature 401 and a bad one 403 as directly, and nothing per host is ever stored"

# --- agent reports pass through, signed --------------------------------------------
report='{"version": 1, "host": "pc01", "boot_id": "b-1", "sequence": 1, "sent_at": '$(date +%s)', "event": "start", "mode": "normal"}'
printf '%s' "$report" > "$WORK/report.json"
post_report() {
  curl -s -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "X-Goldroot-Signature: $(sign_report "$1" "$WORK/report.json")" --data-binary "$report" "$CACHE/api/v1/reports"
}
[ "$(post_report "$WORK/pc02.key")" = 403 ] || fail "pc02 signed pc01's report through the cache: $(cat "$WORK/body")"
[ "$(post_report "$WORK/pc01.key")" = 200 ] || fail "pc01's report through the cache: $(cat "$WORK/body")"
ok "pc01's signed report passes through the cache; one signed by pc02 is refused"

# --- the admin API does not answer to the cache's name -------------------------------
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "$CACHE/api/v1/hosts")" = 421 ] ||
  fail "the admin API through the cache: $(cat "$WORK/body")"
ok "the admin API refuses requests through the cache (421: not one of its names)"

stop_cache
finish

#!/usr/bin/env bash
# Unregistered machines (#17) against a real `goldroot serve` on loopback:
#
#   - under --unknown default-image an unknown MAC's signed manifest request
#     makes it an unregistered host (unreg-<MAC>, the default mode, channel
#     gold) with its key taken on first use, even where the site's policy
#     is admin; the manifest is bound to that name; a second key for it is
#     refused; its layer renders {{ hostname }} as that name and goes to its
#     key only; `status` marks it unregistered;
#   - goldroot-boot, with the command line the unknown-MAC iPXE script
#     gives (no goldroot.host), boots it end to end;
#   - `host add NAME --mac MAC` adopts it: the same row (key, boot history),
#     and the next manifest names the new host, for the same key;
#   - nothing is written for an unsigned, badly signed or replayed request,
#     nor for a key the policy does not take; a student forging MACs fills
#     at most --max-unregistered rows, then gets 429;
#   - under --unknown registration the unknown MAC (and an unregistered
#     host) gets 404 and nothing is written; goldroot-boot's wait for the
#     next attempt doubles while the server refuses it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/agent_lib.sh"
require_root
: "${GOLDROOT_BOOT:?GOLDROOT_BOOT must point at the goldroot-boot binary}"
command -v mkfs.erofs >/dev/null || require "mkfs.erofs (erofs-utils)"
command -v unshare >/dev/null || require "unshare (util-linux)"
grep -qw erofs /proc/filesystems || modprobe erofs 2>/dev/null || true
grep -qw erofs /proc/filesystems || require "erofs in the kernel"
[ -e /dev/loop-control ] || require "/dev/loop-control"

gr init >/dev/null
src="$WORK/src"
mkdir -p "$src/boot" "$src/etc"
head -c 100000 /dev/urandom > "$src/boot/vmlinuz-6.1.0-28-amd64"
head -c 100000 /dev/urandom > "$src/boot/initrd.img-6.1.0-28-amd64"
echo "from the image" > "$src/etc/issue"
gr image import "$src" --name lab >/dev/null
gr image export lab >/dev/null
gr channel set gold lab >/dev/null
gr site set enroll=admin >/dev/null
gr lab add lab3 >/dev/null
mkdir -p "$GOLDROOT_SITE/layers/base/etc"
echo "{{ hostname }}" > "$GOLDROOT_SITE/layers/base/etc/hostname.tmpl"
gr host add pc01 --mac 52:54:00:00:00:01 --lab lab3 >/dev/null
make_host_key "$WORK/pc01.key"
gr host enroll pc01 --key "$WORK/pc01.key.pub" >/dev/null
start_server --unknown default-image --unknown-mode reset --max-unregistered 4 --tools-dir "$(dirname "$GOLDROOT_BOOT")"
hosts() { db "SELECT count(*) FROM hosts"; }
manifest_field() { python3 -c "import json, sys; print(json.load(open('$WORK/body'))['host']['$1'])"; }
mac=52:54:00:77:00:09
name=unreg-525400770009
for key in a b c r eph; do make_host_key "$WORK/$key.key"; done

# --- nothing is written for a request that is not validly signed --------------------
before=$(hosts)
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "$SERVER_URL/api/v1/boot/$mac")" = 401 ] || fail "unsigned: $(cat "$WORK/body")"
# Signed over another MAC's path: the signature does not match.
challenge=$(curl -s "$SERVER_URL/api/v1/challenge" | python3 -c 'import json, sys; print(json.load(sys.stdin)["challenge"])')
printf 'goldroot-host-request-v1\nGET\n%s\n%s' "/api/v1/boot/52:54:00:77:00:99" "$challenge" > "$WORK/statement"
signature=$(openssl pkeyutl -sign -rawin -inkey "$WORK/r.key" -in "$WORK/statement" | base64 -w0)
public=$(openssl pkey -in "$WORK/r.key" -pubout -outform DER | tail -c 32 | base64 -w0)
signed=(-H "X-Goldroot-Challenge: $challenge" -H "X-Goldroot-Host-Signature: ed25519=$signature" -H "X-Goldroot-Host-Key: $public")
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "${signed[@]}" "$SERVER_URL/api/v1/boot/$mac")" = 403 ] ||
  fail "a signature over another path: $(cat "$WORK/body")"
# The same request, once for its own path (it counts), then replayed.
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "${signed[@]}" "$SERVER_URL/api/v1/boot/52:54:00:77:00:99")" = 200 ] ||
  fail "a good signed request: $(cat "$WORK/body")"
[ "$(hosts)" = $((before + 1)) ] || fail "the good request wrote no host"
gr host rm unreg-525400770099 >/dev/null
before=$(hosts)
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' "${signed[@]}" "$SERVER_URL/api/v1/boot/52:54:00:77:00:99")" = 403 ] ||
  fail "a replayed request: $(cat "$WORK/body")"
grep -q "replayed" "$WORK/body" || fail "replay answer: $(cat "$WORK/body")"
# A diskless machine's new key from an unprivileged port is not taken: nothing written.
[ "$(host_get "$WORK/eph.key" "$SERVER_URL/api/v1/boot/52:54:00:77:00:0e" -H "X-Goldroot-Key-Persistent: no" \
      --local-port 40000-41000)" = 403 ] || fail "ephemeral key from an unprivileged port: $(cat "$WORK/body")"
grep -q '"enrollment":"refused"' "$WORK/body" || fail "refusal body: $(cat "$WORK/body")"
[ "$(hosts)" = "$before" ] || fail "a refused request wrote a host: $(gr host list)"
[ "$(db "SELECT count(*) FROM host_keys")" = 1 ] || fail "a refused request wrote a key: $(gr host keys)"
ok "an unsigned, wrongly signed or replayed manifest request, or a key not taken, writes nothing"

# --- an unknown MAC boots the default image as an unregistered host ------------------
[ "$(host_get "$WORK/a.key" "$SERVER_URL/api/v1/boot/$mac")" = 200 ] || fail "unknown MAC: $(cat "$WORK/body")"
cp "$WORK/body" "$WORK/manifest-a.json"
[ "$(manifest_field name)" = "$name" ] || fail "manifest name: $(cat "$WORK/body")"
[ "$(manifest_field mode)" = reset ] || fail "manifest mode: $(cat "$WORK/body")"
[ "$(manifest_field mac)" = "$mac" ] || fail "manifest MAC: $(cat "$WORK/body")"
[ "$(manifest_field key_id)" = "$(id_of "$WORK/a.key")" ] || fail "manifest key: $(cat "$WORK/body")"
commit=$(python3 -c "import json; print(json.load(open('$WORK/body'))['commit'])")
[ "$(host_get "$WORK/pc01.key" "$SERVER_URL/api/v1/boot/52:54:00:00:00:01")" = 200 ] || fail "pc01: $(cat "$WORK/body")"
[ "$commit" = "$(python3 -c "import json; print(json.load(open('$WORK/body'))['commit'])")" ] || fail "not gold's image"
[ "$(db "SELECT unregistered, ip IS NULL, lab_id IS NULL, mode, channel IS NULL FROM hosts WHERE name = '$name'")" = "1|1|1|reset|1" ] ||
  fail "the row: $(db "SELECT * FROM hosts")"
[ "$(db "SELECT k.enrolled_by FROM host_keys k JOIN hosts h ON h.id = k.host_id WHERE h.name = '$name'")" = port ] ||
  fail "its key: $(gr host keys)"
grep -q "unregistered machine $mac boots the default image as $name" "$WORK/serve.log" || fail "serve log"
ok "an unknown MAC's signed request under default-image gets a manifest for $name in the default mode (reset), its key taken though the site's policy is admin"

[ "$(host_get "$WORK/b.key" "$SERVER_URL/api/v1/boot/$mac")" = 403 ] || fail "a second key: $(cat "$WORK/body")"
grep -q '"enrollment":"refused"' "$WORK/body" || fail "second key body: $(cat "$WORK/body")"
gr host keys | grep "$name" | grep -q '!!' || fail "refusal not shown: $(gr host keys)"
[ "$(host_get "$WORK/a.key" "$SERVER_URL/api/v1/boot/$mac")" = 200 ] || fail "its own key again: $(cat "$WORK/body")"
ok "a second persistent key for the unregistered MAC is refused and shown; its own key boots again"

[ "$(host_get "$WORK/a.key" "$SERVER_URL/layers/$name.tar")" = 200 ] || fail "its layer: $(cat "$WORK/body")"
mkdir "$WORK/layer" && tar -xf "$WORK/body" -C "$WORK/layer"
[ "$(cat "$WORK/layer/etc/hostname")" = "$name" ] || fail "{{ hostname }}: $(cat "$WORK/layer/etc/hostname")"
[ "$(sha256sum < "$WORK/body" | cut -d' ' -f1)" = "$(python3 -c "import json; print(json.load(open('$WORK/manifest-a.json'))['host']['layer']['sha256'])")" ] ||
  fail "the layer is not the one the manifest names"
[ "$(host_get "$WORK/b.key" "$SERVER_URL/layers/$name.tar")" = 403 ] || fail "another key got its layer"
[ "$(host_get "$WORK/a.key" "$SERVER_URL/layers/pc01.tar")" = 403 ] || fail "it got pc01's layer"
ok "its layer renders {{ hostname }} as $name and goes to its key only (not to another key; it gets no other host's)"

gr status > "$WORK/status.txt"
grep -Eq "^$name +unregistered +down +- +- +- +- +never" "$WORK/status.txt" || fail "status: $(cat "$WORK/status.txt")"
grep -Eq "^pc01 +lab3 " "$WORK/status.txt" || fail "status pc01: $(cat "$WORK/status.txt")"
gr status --json | python3 -c "
import json, sys
hosts = {h['name']: h for h in json.load(sys.stdin)}
assert hosts['$name']['unregistered'] is True and hosts['$name']['next_mode'] == 'reset', hosts['$name']
assert hosts['$name']['key']['state'] == 'enrolled', hosts['$name']
assert hosts['pc01']['unregistered'] is False" || fail "status --json: $(gr status --json)"
ok "status and status --json show $name as unregistered"

# --- goldroot-boot, as the unknown MAC's iPXE script starts it ------------------------
script=$(curl -s "$SERVER_URL/boot/52:54:00:77:00:0b.ipxe")
cmdline=$(echo "$script" | sed -n 's/^kernel [^ ]* \(.*\) || goto failed$/\1/p' | head -1)
echo "$cmdline" | grep -q "goldroot.mode=reset" || fail "iPXE default mode: $cmdline"
echo "$cmdline" | grep -q "goldroot.host=" && fail "the unknown MAC's command line names a host: $cmdline"
mkdir -p "$WORK/boot"
unshare -m --propagation private env ROOT="$WORK/boot/root" RUN="$WORK/boot/run" bash -euc '
  "$0" --cmdline "$1 goldroot.data=none" --site-key "$2" --host-key "$3" --root "$ROOT" --run-dir "$RUN"
  [ "$(cat "$ROOT/etc/hostname")" = unreg-52540077000b ] || { echo "hostname: $(cat "$ROOT/etc/hostname")"; exit 1; }
  [ "$(cat "$ROOT/etc/issue")" = "from the image" ] || { echo "not the image"; exit 1; }
  cp "$RUN/boot.json" "$RUN/../boot.json"' "$GOLDROOT_BOOT" "$cmdline" "$GOLDROOT_SITE/keys/site.pub" \
  "$WORK/boot.key" 2>"$WORK/boot.err" || fail "goldroot-boot as an unknown MAC: $(cat "$WORK/boot.err")"
python3 -c "
import json; r = json.load(open('$WORK/boot/boot.json'))
assert r['host'] == 'unreg-52540077000b' and r['mode'] == 'reset', r" || fail "boot.json: $(cat "$WORK/boot/boot.json")"
ok "goldroot-boot with the unknown MAC's command line boots gold in reset mode as unreg-52540077000b, its layer's hostname rendered"

# --- host add adopts it -------------------------------------------------------------
id=$(db "SELECT id FROM hosts WHERE name = '$name'")
revoked=$(db "SELECT count(*) FROM revoked_host_keys")
boots=$(db "SELECT requested_at, mode FROM boot_requests WHERE host_id = $id")
[ -n "$boots" ] || fail "no boot recorded for $name"
gr host add pc09 --mac "$mac" --lab lab3 > "$WORK/add.txt" || fail "host add pc09"
grep -q "adopted unregistered host $name as pc09" "$WORK/add.txt" || fail "host add said: $(cat "$WORK/add.txt")"
[ "$(db "SELECT id, unregistered, mode IS NULL FROM hosts WHERE name = 'pc09'")" = "$id|0|1" ] ||
  fail "adopted row: $(db "SELECT * FROM hosts")"
[ -z "$(db "SELECT 1 FROM hosts WHERE name = '$name'")" ] || fail "$name still exists"
[ "$(db "SELECT requested_at, mode FROM boot_requests WHERE host_id = $id")" = "$boots" ] || fail "boot history lost"
[ "$(db "SELECT count(*) FROM revoked_host_keys")" = "$revoked" ] || fail "adoption revoked a key"
[ "$(host_get "$WORK/a.key" "$SERVER_URL/api/v1/boot/$mac")" = 200 ] || fail "pc09's manifest: $(cat "$WORK/body")"
[ "$(manifest_field name)" = pc09 ] && [ "$(manifest_field mode)" = normal ] || fail "pc09's manifest: $(cat "$WORK/body")"
[ "$(manifest_field key_id)" = "$(id_of "$WORK/a.key")" ] || fail "pc09's key"
[ "$(host_get "$WORK/a.key" "$SERVER_URL/layers/pc09.tar")" = 200 ] || fail "pc09's layer"
tar -xOf "$WORK/body" etc/hostname | grep -qx pc09 || fail "pc09's hostname"
[ "$(host_get "$WORK/c.key" "$SERVER_URL/api/v1/boot/$mac")" = 403 ] || fail "another key for pc09"
gr status --json | python3 -c "
import json, sys
hosts = {h['name']: h for h in json.load(sys.stdin)}
assert hosts['pc09']['unregistered'] is False and hosts['pc09']['lab'] == 'lab3', hosts['pc09']
assert '$name' not in hosts" || fail "status after adoption"
ok "host add pc09 --mac $mac adopts $name: same row, key and boot history; the next manifest names pc09 in its lab's mode, for the same key"

# Its agent still says the name it booted with: the report counts for pc09.
report='{"version": 1, "host": "'$name'", "boot_id": "b-1", "sequence": 1, "sent_at": '$(date +%s)', "event": "start", "mode": "normal"}'
printf '%s' "$report" > "$WORK/report.json"
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/json' \
      -H "X-Goldroot-Signature: $(sign_report "$WORK/c.key" "$WORK/report.json")" \
      --data-binary "$report" "$SERVER_URL/api/v1/reports")" = 403 ] || fail "another key's report as $name: $(cat "$WORK/body")"
[ "$(curl -s -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/json' \
      -H "X-Goldroot-Signature: $(sign_report "$WORK/a.key" "$WORK/report.json")" \
      --data-binary "$report" "$SERVER_URL/api/v1/reports")" = 200 ] || fail "its agent's report as $name: $(cat "$WORK/body")"
gr status --json | python3 -c "
import json, sys
hosts = {h['name']: h for h in json.load(sys.stdin)}
assert hosts['pc09']['state'] == 'up' and hosts['pc09']['last_seen'], hosts['pc09']" || fail "pc09 after its report: $(gr status)"
ok "its agent's report under the unregistered name counts for pc09, signed by pc09's key only"

# --- host rm, and the forged-MAC flood ------------------------------------------------
[ "$(host_get "$WORK/c.key" "$SERVER_URL/api/v1/boot/52:54:00:77:00:0c")" = 200 ] || fail "0c: $(cat "$WORK/body")"
gr host rm unreg-52540077000c | grep -q "removed 1 host" || fail "host rm of an unregistered host"
[ -z "$(db "SELECT 1 FROM host_macs WHERE mac = '52:54:00:77:00:0c'")" ] || fail "its MAC stayed"
ok "host rm removes an unregistered host like any other"

registered=$(db "SELECT count(*) FROM hosts WHERE unregistered = 0")
accepted=0 limited=0
for i in $(seq 1 12); do
  forged=$(printf '02:00:00:00:ff:%02x' "$i")
  make_host_key "$WORK/forged.key"
  case "$(host_get "$WORK/forged.key" "$SERVER_URL/api/v1/boot/$forged")" in
    200) accepted=$((accepted + 1)) ;;
    429) limited=$((limited + 1)); grep -q "limit" "$WORK/body" || fail "429 body: $(cat "$WORK/body")" ;;
    *) fail "forged MAC $forged: $(cat "$WORK/body")" ;;
  esac
done
# unreg-52540077000b is one of the four.
[ "$accepted" = 3 ] && [ "$limited" = 9 ] || fail "accepted $accepted, refused $limited"
[ "$(db "SELECT count(*) FROM hosts WHERE unregistered != 0")" = 4 ] || fail "unregistered rows: $(gr host list)"
[ "$(db "SELECT count(*) FROM hosts WHERE unregistered = 0")" = "$registered" ] || fail "registered hosts changed"
[ "$(db "SELECT count(*) FROM host_macs")" = "$(hosts)" ] || fail "MACs beyond the hosts"
[ "$(host_get "$WORK/pc01.key" "$SERVER_URL/api/v1/boot/52:54:00:00:00:01")" = 200 ] || fail "pc01 while full"
[ "$(host_get "$WORK/a.key" "$SERVER_URL/api/v1/boot/$mac")" = 200 ] || fail "pc09 while full"
ok "a flood of forged MACs fills at most --max-unregistered (4) rows, then gets 429 with one sentence; registered hosts boot on"

# --- --unknown registration ----------------------------------------------------------
stop_server
start_server --unknown registration --tools-dir "$(dirname "$GOLDROOT_BOOT")"
before=$(hosts) keys=$(db "SELECT count(*) FROM host_keys")
[ "$(host_get "$WORK/c.key" "$SERVER_URL/api/v1/boot/52:54:00:77:00:0d")" = 404 ] || fail "registration: $(cat "$WORK/body")"
grep -q "no host has MAC" "$WORK/body" || fail "404 body: $(cat "$WORK/body")"
make_host_key "$WORK/forged.key"
[ "$(host_get "$WORK/forged.key" "$SERVER_URL/api/v1/boot/02:00:00:00:ff:01")" = 404 ] ||
  fail "an unregistered host under registration: $(cat "$WORK/body")"
[ "$(hosts)" = "$before" ] && [ "$(db "SELECT count(*) FROM host_keys")" = "$keys" ] || fail "registration wrote"
curl -s "$SERVER_URL/boot/02:00:00:00:ff:01.ipxe" | grep -q "MAC address: 02:00:00:00:ff:01" ||
  fail "an unregistered host's iPXE script under registration"
ok "under --unknown registration an unknown MAC (or an unregistered host) gets 404 and the registration screen, and nothing is written"

refused_boot() {  # goldroot-boot as unknown 52:54:00:77:00:0d: exit 3
  local status=0
  "$GOLDROOT_BOOT" --cmdline "boot=goldroot goldroot.server=$SERVER_URL goldroot.mac=52:54:00:77:00:0d goldroot.data=none goldroot.retry=20" \
    --site-key "$GOLDROOT_SITE/keys/site.pub" --host-key "$WORK/d.key" --upper-dir "$WORK/upper-d" \
    --root "$WORK/root-d" --run-dir "$WORK/run-d" 2>"$WORK/err" || status=$?
  [ "$status" = 3 ] || fail "refused boot: exit $status: $(cat "$WORK/err")"
  [ "$(grep -c "error: " "$WORK/err")" = 1 ] || fail "not one error line: $(cat "$WORK/err")"
}
mkdir -p "$WORK/upper-d"
waits=()
for attempt in 1 2 3 4 5 6; do
  refused_boot
  waits+=("$(cat "$WORK/run-d/retry")")
  if [ "$attempt" = 1 ]; then
    grep -q "no host has MAC 52:54:00:77:00:0d" "$WORK/err" || fail "first refusal: $(cat "$WORK/err")"
  else
    grep -q "still refuses this machine, as above" "$WORK/err" || fail "repeat $attempt: $(cat "$WORK/err")"
    [ "$(grep -c . "$WORK/err")" = 1 ] || fail "repeat $attempt printed more: $(cat "$WORK/err")"
  fi
done
[ "${waits[*]}" = "20 40 80 160 300 300" ] || fail "waits: ${waits[*]}"
ok "a refused goldroot-boot prints the server's sentence once, and leaves the glue a wait doubling from 20 s to 5 min (${waits[*]})"
finish

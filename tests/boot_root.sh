#!/usr/bin/env bash
# goldroot-boot against a real `goldroot serve` on loopback, in a private
# mount namespace: it enrolls its host key (the lab trusts first use), fetches
# and verifies the signed, host-bound manifest, downloads
# and verifies the erofs image, loop-mounts it, stacks the host's rendered
# layer in the middle and an upper on top, and records what it did. Then the
# boot modes the server decides (maintenance keeps the upper, reset discards
# it; a mode typed on the command line is ignored), the cache mode booting
# with the server gone, and a flipped image byte refused before any mount.
source "$(dirname "$0")/lib.sh"
require_root
command -v mkfs.erofs >/dev/null || require "mkfs.erofs (erofs-utils)"
command -v unshare >/dev/null || require "unshare (util-linux)"
grep -qw erofs /proc/filesystems || modprobe erofs 2>/dev/null || true
grep -qw erofs /proc/filesystems || require "erofs in the kernel"
[ -e /dev/loop-control ] || require "/dev/loop-control"
: "${GOLDROOT_BOOT:?GOLDROOT_BOOT must point at the goldroot-boot binary}"

gr init >/dev/null
src="$WORK/src"
mkdir -p "$src/etc" "$src/usr/bin" "$src/boot"
head -c 100000 /dev/urandom > "$src/boot/vmlinuz-6.1.0-28-amd64"
head -c 100000 /dev/urandom > "$src/boot/initrd.img-6.1.0-28-amd64"
echo "template" > "$src/etc/hostname"
echo "from the image" > "$src/etc/issue"
head -c 200000 /dev/urandom > "$src/usr/bin/tool"
gr image import "$src" --name lab >/dev/null
gr network add 10.9.0.0/24 --gateway 10.9.0.1 --dns 10.9.0.2 >/dev/null
gr lab add lab3 --network 10.9.0.0/24 --enroll first-use >/dev/null
gr host add pc01 --mac 52:54:00:aa:00:01 --ip 10.9.0.11 --lab lab3 >/dev/null
mkdir -p "$GOLDROOT_SITE/layers/labs/lab3/etc"
echo "{{ hostname }}" > "$GOLDROOT_SITE/layers/labs/lab3/etc/hostname.tmpl"
gr channel set gold lab >/dev/null
gr image export lab >/dev/null

port=$(free_port)
url="http://127.0.0.1:$port"
"$GOLDROOT" serve --listen "127.0.0.1:$port" > "$WORK/serve.log" 2>&1 &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
for _ in $(seq 1 300); do curl -s "$url/api/v1/hosts" >/dev/null && break; sleep 0.1; done

# boot MODE [extra goldroot-boot options…] -- shell commands run inside the
# namespace after a successful boot ($ROOT is the new root). The server is
# told the mode (it decides); the command line says it too, as iPXE would.
# The host key stays in $WORK/host.key, as on a data partition.
boot() {
  local mode=$1; shift
  local options=()
  while [ "$1" != -- ]; do options+=("$1"); shift; done
  shift
  gr host set pc01 mode=$mode >/dev/null
  unshare -m --propagation private env ROOT="$WORK/root" RUN="$WORK/run" bash -euc '
    "$0" --cmdline "$1" --site-key "$2" --host-key "$4" --root "$ROOT" --run-dir "$RUN" "${@:5}"
    eval "$3"' "$GOLDROOT_BOOT" \
    "boot=goldroot goldroot.server=$url goldroot.mac=52:54:00:aa:00:01 goldroot.host=pc01 goldroot.mode=${CMDLINE_MODE:-$mode}" \
    "$GOLDROOT_SITE/keys/site.pub" "$*" "$WORK/host.key" "${options[@]}"
}

boot normal -- '
  [ "$(findmnt -n -o FSTYPE "$ROOT")" = overlay ] || { echo "root is not an overlay"; exit 1; }
  findmnt -n -o OPTIONS "$ROOT" | grep -q "lowerdir=$RUN/middle:$RUN/image" || { echo "lower: $(findmnt -n -o OPTIONS "$ROOT")"; exit 1; }
  [ "$(findmnt -n -o FSTYPE "$RUN/image")" = erofs ] || { echo "image is not erofs"; exit 1; }
  findmnt -n -o SOURCE "$RUN/image" | grep -q "^/dev/loop" || { echo "image not on a loop device"; exit 1; }
  findmnt -n -o OPTIONS "$RUN/image" | grep -qw ro || { echo "image mounted read-write"; exit 1; }
  findmnt -n -o OPTIONS "$RUN/middle" | grep -qw ro || { echo "middle layer writable"; exit 1; }
  [ "$(cat "$ROOT/etc/hostname")" = pc01 ] || { echo "hostname: $(cat "$ROOT/etc/hostname")"; exit 1; }
  [ "$(cat "$ROOT/etc/issue")" = "from the image" ] || { echo "image file missing"; exit 1; }
  echo written > "$ROOT/etc/new-file"
  [ -f "$RUN/upper/upper/etc/new-file" ] || { echo "write did not land in the upper"; exit 1; }
  cp "$RUN/boot.json" "$RUN/../boot-normal.json"
' || fail "normal boot"
python3 - "$WORK/boot-normal.json" "$url" "$GOLDROOT_SITE/keys/site.pub" <<'PY' || fail "boot.json contents"
import json, sys
record = json.load(open(sys.argv[1]))
assert record["mode"] == "normal" and record["host"] == "pc01", record
assert record["mac"] == "52:54:00:aa:00:01" and record["server"] == sys.argv[2], record
assert record["manifest"]["source"] == "server" and len(record["manifest"]["sha256"]) == 64
assert record["image"]["format"] == "erofs" and record["image"]["source"] == "download"
assert record["image"]["downloaded"] == record["image"]["size"] > 0
assert record["upper"]["kind"] == "tmpfs" and record["layer"]["source"] == "server"
assert record["layer"]["entries"] > 0 and len(record["commit"]) == 64
# What the agent needs to pre-fetch the next image: no data partition here,
# and the site key it checks orders with.
assert record["cache_dir"] == "" and record["site_key"].endswith("/run/site.pub"), record
assert open(record["site_key"]).read() == open(sys.argv[3]).read()
PY
ok "boots an overlay root: erofs image lower on a loop device, host layer in the middle, writes in a tmpfs upper, boot.json recorded"
[ "$(stat -c %a "$WORK/host.key")" = 600 ] || fail "host key mode"
gr host keys --json | python3 -c '
import json, sys; h = [h for h in json.load(sys.stdin) if h["host"] == "pc01"][0]
assert h["state"] == "enrolled" and h["enrolled_by"] == "first-use", h' || fail "first use did not enroll: $(gr host keys)"
ok "the first boot made a host key (0600) and the lab's first-use policy enrolled it"

# The student at the keyboard types another mode: the server's wins.
CMDLINE_MODE=maintenance boot normal -- '
  [ "$(python3 -c "import json; print(json.load(open(\"$RUN/boot.json\"))[\"mode\"])")" = normal ] || { echo "mode from the command line"; exit 1; }
  [ "$(cat "$RUN/mode")" = normal ] || { echo "glue mode: $(cat "$RUN/mode")"; exit 1; }
  [ -f "$ROOT/etc/goldroot/host.key" ] && [ "$(stat -c %a "$ROOT/etc/goldroot/host.key")" = 600 ] || { echo "agent key"; exit 1; }' \
  2>"$WORK/err" || fail "boot with goldroot.mode=maintenance typed: $(cat "$WORK/err")"
grep -q "the server says mode normal; goldroot.mode=maintenance on the command line is ignored" "$WORK/err" ||
  fail "no notice: $(cat "$WORK/err")"
ok "goldroot.mode=maintenance typed on the command line is ignored: the manifest's mode (normal) boots, and the agent's key is in the root (0600)"

mkdir -p "$WORK/data"
boot maintenance --upper-dir "$WORK/data" -- 'echo kept > "$ROOT/etc/admin-change"' || fail "maintenance boot"
[ -f "$WORK/data/goldroot/upper/etc/admin-change" ] || fail "maintenance write not on the data dir"
boot maintenance --upper-dir "$WORK/data" -- '[ "$(cat "$ROOT/etc/admin-change")" = kept ]' \
  || fail "maintenance lost the change across boots"
ok "maintenance keeps the upper across boots"
boot reset --upper-dir "$WORK/data" -- '[ ! -e "$ROOT/etc/admin-change" ]' || fail "reset kept the change"
[ ! -e "$WORK/data/goldroot/upper/etc/admin-change" ] || fail "reset left the file in the upper"
ok "reset discards the upper"

# fetch=demand on a machine whose kernel cannot serve it (this one has no
# NBD, no device-mapper): the daemon says why, the whole image boots.
[ -e /dev/nbd0 ] && [ -e /dev/mapper/control ] && fail "this test needs a kernel without NBD or device-mapper"
gr host set pc01 fetch=demand >/dev/null
PATH="$(dirname "$GOLDROOT_BOOT"):$PATH" boot normal -- '
  findmnt -n -o SOURCE "$RUN/image" | grep -q "^/dev/loop" || { echo "image not on a loop device"; exit 1; }
  cp "$RUN/boot.json" "$RUN/../boot-demand.json"' 2>"$WORK/err" || fail "fetch=demand without NBD: $(cat "$WORK/err")"
grep -q "goldroot-boot: on-demand boot failed (.*); downloading the whole image instead" "$WORK/err" ||
  fail "no fallback notice: $(cat "$WORK/err")"
python3 -c "
import json; r = json.load(open('$WORK/boot-demand.json'))
assert r['image']['source'] == 'download' and r['image']['downloaded'] == r['image']['size'], r" ||
  fail "fallback boot record"
gr host set pc01 fetch= >/dev/null
ok "fetch=demand on a kernel without NBD falls back to the whole image: $(grep -o 'on-demand boot failed.*' "$WORK/err" | cut -c1-150)"

# The data partition, found by label: a loop-backed GPT disk whose one
# partition is named like the label and has no filesystem yet.
if command -v mkfs.ext4 >/dev/null && command -v blkid >/dev/null; then
  label="GRT$RANDOM"
  truncate -s 64M "$WORK/disk.img"
  python3 "$(dirname "$0")/make_gpt.py" "$WORK/disk.img" "$label"
  disk=$(losetup -f --show -P "$WORK/disk.img")
  on_exit "losetup -d $disk"
  partx -a "$disk" 2>/dev/null || true  # where the kernel's own scan made no partition nodes
  for _ in $(seq 1 50); do [ -b "${disk}p1" ] && break; sleep 0.1; done
  status=0
  boot maintenance --upper-device "$label" -- 'true' 2>"$WORK/err" || status=$?
  [ "$status" = 6 ] || fail "unformatted partition without policy: exit $status: $(cat "$WORK/err")"
  grep -q "does not allow formatting" "$WORK/err" || fail "format refusal: $(cat "$WORK/err")"
  boot maintenance --upper-device "$label" --format-upper -- '
    echo on-disk > "$ROOT/etc/admin-change"
    cp "$RUN/boot.json" "$RUN/../boot-device.json"' || fail "maintenance on a formatted partition"
  python3 -c "
import json; r = json.load(open('$WORK/boot-device.json'))['upper']
assert r['kind'] == 'device' and r['formatted'] and r['device'] == '${disk}p1', r" || fail "device record"
  [ "$(blkid -o value -s LABEL "${disk}p1")" = "$label" ] || fail "partition not labelled"
  boot maintenance --upper-device "$label" -- '[ "$(cat "$ROOT/etc/admin-change")" = on-disk ]' \
    || fail "the partition's upper did not survive"
  boot reset --upper-device "$label" -- '[ ! -e "$ROOT/etc/admin-change" ]' || fail "reset on the partition"
  ok "the data partition is found by label, formatted only when policy allows, kept by maintenance and emptied by reset"

  # Install mode: the merged image on a partition of its own, then run from it.
  ilabel="GRI$RANDOM"
  truncate -s 128M "$WORK/install.img"
  python3 "$(dirname "$0")/make_gpt.py" "$WORK/install.img" "$ilabel"
  idisk=$(losetup -f --show -P "$WORK/install.img")
  on_exit "losetup -d $idisk"
  partx -a "$idisk" 2>/dev/null || true
  for _ in $(seq 1 50); do [ -b "${idisk}p1" ] && break; sleep 0.1; done
  install_boot() {
    gr host set pc01 mode=install >/dev/null
    unshare -m --propagation private env ROOT="$WORK/root" RUN="$WORK/run" bash -euc '
      "$0" --cmdline "$1" --site-key "$2" --host-key "$5" --root "$ROOT" --run-dir "$RUN" 2>>"$3"
      eval "$4"' "$GOLDROOT_BOOT" \
      "boot=goldroot goldroot.server=$url goldroot.mac=52:54:00:aa:00:01 goldroot.host=pc01 goldroot.mode=install goldroot.install=$ilabel goldroot.data=none" \
      "$GOLDROOT_SITE/keys/site.pub" "$WORK/install.err" "$1" "$WORK/host.key"
  }
  install_boot '
    [ "$(findmnt -n -o FSTYPE "$ROOT")" = ext4 ] || { echo "root is not the ext4 partition"; exit 1; }
    [ "$(cat "$ROOT/etc/issue")" = "from the image" ] && [ "$(cat "$ROOT/etc/hostname")" = pc01 ]
    cmp -s "$ROOT/usr/bin/tool" "'"$src"'/usr/bin/tool"
    grep -q "^LABEL='"$ilabel"' / ext4" "$ROOT/etc/fstab"
    echo mine > "$ROOT/etc/local-change"
    cp "$RUN/boot.json" "$RUN/../boot-install.json"' || fail "install boot: $(cat "$WORK/install.err")"
  python3 -c "
import json; r = json.load(open('$WORK/boot-install.json'))
assert r['mode'] == 'install' and r['upper']['kind'] == 'installed' and r['upper']['formatted'], r" \
    || fail "install record"
  install_boot '[ "$(cat "$ROOT/etc/local-change")" = mine ]' || fail "the installed system lost a local change"
  [ "$(grep -c "goldroot-boot: installed" "$WORK/install.err")" = 1 ] || fail "installed twice: $(cat "$WORK/install.err")"
  ok "install mode copies image and host layer onto its own partition, boots from it, and keeps it (and local changes) while the commit is unchanged"
else
  echo "SKIP (part): mkfs.ext4 or blkid missing, data partition not tested" >&2
fi

gr host set pc01 mode=maintenance >/dev/null
if "$GOLDROOT_BOOT" --cmdline "boot=goldroot goldroot.server=$url goldroot.mac=52:54:00:aa:00:01 goldroot.mode=maintenance" \
    --site-key "$GOLDROOT_SITE/keys/site.pub" --host-key "$WORK/host.key" --root "$WORK/root" --run-dir "$WORK/run" 2>"$WORK/err"; then
  fail "maintenance without a disk succeeded"
fi
grep -q "maintenance mode keeps the upper layer on disk" "$WORK/err" || fail "maintenance error: $(cat "$WORK/err")"
ok "maintenance without a data partition refuses with a reason"

boot cache --cache-dir "$WORK/cache" -- 'true' || fail "cache boot, server up"
# The agent pre-fetches the next image into the cache this boot read.
[ "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["cache_dir"])' "$WORK/run/boot.json")" = "$WORK/cache" ] ||
  fail "boot.json names no cache_dir: $(cat "$WORK/run/boot.json")"
ls "$WORK/cache"/*.erofs >/dev/null && [ -f "$WORK/cache/manifest.json" ] || fail "cache dir not filled"

# A key that did not sign the manifest is refused (exit 4).
openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout > "$WORK/other.pub"
status=0
"$GOLDROOT_BOOT" --cmdline "boot=goldroot goldroot.server=$url goldroot.mac=52:54:00:aa:00:01" \
  --site-key "$WORK/other.pub" --host-key "$WORK/host.key" --root "$WORK/root" --run-dir "$WORK/run" 2>"$WORK/err" || status=$?
[ "$status" = 4 ] || fail "wrong site key: exit $status: $(cat "$WORK/err")"
[ "$(grep -c . "$WORK/err")" = 1 ] || fail "wrong key: more than one line"
ok "a manifest signed by another key is refused ($(cat "$WORK/err"))"

# One flipped byte in the served artifact.
artifact=$(find "$GOLDROOT_SITE" -name '*.erofs' -size +1k | head -1)
[ -n "$artifact" ] || fail "no exported artifact found"
python3 - "$artifact" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(2000); b = f.read(1); f.seek(2000); f.write(bytes([b[0] ^ 1]))
PY
rm -rf "$WORK/run"
status=0
gr host set pc01 mode=normal >/dev/null
unshare -m --propagation private "$GOLDROOT_BOOT" \
  --cmdline "boot=goldroot goldroot.server=$url goldroot.mac=52:54:00:aa:00:01 goldroot.host=pc01" \
  --site-key "$GOLDROOT_SITE/keys/site.pub" --host-key "$WORK/host.key" --root "$WORK/root" --run-dir "$WORK/run" 2>"$WORK/err" || status=$?
[ "$status" = 5 ] || fail "flipped byte: exit $status: $(cat "$WORK/err")"
grep -q "image digest mismatch: expected [0-9a-f]\{64\}, got [0-9a-f]\{64\}; refusing to mount" "$WORK/err" \
  || fail "flipped byte message: $(cat "$WORK/err")"
[ "$(grep -c . "$WORK/err")" = 1 ] || fail "flipped byte: more than one line"
[ -z "$(ls "$WORK/run/image-files" 2>/dev/null)" ] || fail "the bad image was kept"
[ ! -e "$WORK/run/image" ] || fail "an image mount point was made: it got as far as mounting"
ok "a flipped byte is refused before any mount ($(cat "$WORK/err"))"

# An image that cannot fit where it would be downloaded: one sentence
# before any byte, instead of a full disk (or the OOM killer, in RAM).
mkdir -p "$WORK/small"
mount -t tmpfs -o size=128k goldroot-test "$WORK/small"
on_exit "umount '$WORK/small' 2>/dev/null"
status=0
boot cache --cache-dir "$WORK/small" -- true 2>"$WORK/err" || status=$?
[ "$status" != 0 ] || fail "a boot into a 128 KiB cache succeeded"
grep -q "goldroot-boot: error: the image is .* but $WORK/small has room for .* of it; free the partition or boot on demand (fetch=demand)" "$WORK/err" ||
  fail "no room: $(cat "$WORK/err")"
[ -z "$(ls "$WORK/small")" ] || [ "$(ls "$WORK/small")" = manifest.json ] || fail "left behind: $(ls "$WORK/small")"
umount "$WORK/small"
ok "an image too large for where it goes is refused in one sentence: $(grep -o 'the image is.*' "$WORK/err" | cut -c1-120)"

# A whole copy already on a partition without room for a second one (the
# agent pre-fetched it): reused, not refused for lack of room.
copy=$(ls "$WORK/cache"/*.erofs | head -1)
size=$(stat -c %s "$copy")
mkdir -p "$WORK/full"
mount -t tmpfs -o size=$((size + 200 * 1024)) goldroot-test "$WORK/full"
on_exit "umount '$WORK/full' 2>/dev/null"
cp "$copy" "$WORK/full/"
[ "$(df --output=avail -B1 "$WORK/full" | tail -1)" -lt "$size" ] || fail "the test partition has room for a second copy"
boot cache --cache-dir "$WORK/full" -- true 2>"$WORK/err" || fail "boot with the copy on a full partition: $(cat "$WORK/err")"
[ "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["image"]["source"])' "$WORK/run/boot.json")" = reused ] ||
  fail "the copy was not reused: $(cat "$WORK/run/boot.json")"
umount "$WORK/full"
ok "a whole copy already on a partition with no room for another is reused"

# The next image on a disk that holds the last one as a whole copy: made
# from it and the update patch its export wrote (goldroot-blockd
# --prefetch, every block checked against the signed tree), not downloaded.
python3 - "$artifact" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:  # the flipped byte back: v1's export is the base
    f.seek(2000); b = f.read(1); f.seek(2000); f.write(bytes([b[0] ^ 1]))
PY
echo "version two" >"$src/etc/issue"
head -c 30000 /dev/urandom >"$src/usr/bin/new-tool"
gr image import "$src" --name lab >/dev/null
gr image export lab >"$WORK/export.out"
grep -q "a client holding the base fetches" "$WORK/export.out" || fail "no update patch: $(cat "$WORK/export.out")"
gr channel set gold lab >/dev/null
# A goldroot-blockd that fails half-way (a full disk, say): one line, and
# the download, with nothing half-made left in its way.
mkdir -p "$WORK/failing-bin"
cat >"$WORK/failing-bin/goldroot-blockd" <<'SH'
#!/bin/sh
while [ $# -gt 0 ]; do
  case $1 in --cache-dir) dir=$2 ;; --root-hash) root=$2 ;; esac
  shift
done
head -c 8192 /dev/zero >"$dir/$root.image"; : >"$dir/$root.map"
echo "goldroot-blockd: error: no space left on device" >&2
exit 1
SH
chmod +x "$WORK/failing-bin/goldroot-blockd"
cp -a "$WORK/cache" "$WORK/cache-without-blockd"
PATH="$WORK/failing-bin:$PATH" boot cache --cache-dir "$WORK/cache-without-blockd" -- \
  'cp "$RUN/boot.json" "$RUN/../boot-without.json"' 2>"$WORK/err" || fail "boot with a failing goldroot-blockd: $(cat "$WORK/err")"
grep -q "not made from the older image (.*); downloading it" "$WORK/err" || fail "no fallback line: $(cat "$WORK/err")"
[ "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["image"]["source"])' "$WORK/boot-without.json")" = download ] ||
  fail "with a failing goldroot-blockd: $(cat "$WORK/boot-without.json")"
! ls "$WORK/cache-without-blockd" | grep -q '\.image$\|\.map$' || fail "left behind: $(ls "$WORK/cache-without-blockd")"
ok "a goldroot-blockd that fails while making the next image: $(grep -o 'not made from.*' "$WORK/err"), nothing left behind"
PATH="$(dirname "$GOLDROOT_BLOCKD"):$PATH" boot cache --cache-dir "$WORK/cache" -- '
  [ "$(cat "$ROOT/etc/issue")" = "version two" ] || { echo "not the new image: $(cat "$ROOT/etc/issue")"; exit 1; }
  cp "$RUN/boot.json" "$RUN/../boot-seeded.json"' 2>"$WORK/err" || fail "boot of the next image: $(cat "$WORK/err")"
grep -q "making image .* from the one this disk holds" "$WORK/err" || fail "not made from the older copy: $(cat "$WORK/err")"
read -r source downloaded size <<<"$(python3 -c 'import json, sys; i = json.load(open(sys.argv[1]))["image"]
print(i["source"], i["downloaded"], i["size"])' "$WORK/boot-seeded.json")"
[ "$source" = seeded ] && [ "$downloaded" -gt 0 ] && [ $((downloaded * 4)) -lt "$size" ] ||
  fail "the next image was $source with $downloaded of $size bytes fetched: $(cat "$WORK/err")"
[ "$(ls "$WORK/cache" | grep -c '\.erofs$')" = 1 ] || fail "the old copy stayed: $(ls "$WORK/cache")"
ok "cache mode: the next image made from the last one's copy and its update patch, $downloaded of $size bytes fetched"

# The server is gone: cache mode boots the verified copy.
kill "$server"; wait "$server" 2>/dev/null || true
boot cache --cache-dir "$WORK/cache" -- '
  [ "$(cat "$ROOT/etc/hostname")" = pc01 ] || { echo "cached layer hostname"; exit 1; }
  cp "$RUN/boot.json" "$RUN/../boot-cache.json"' || fail "cache boot without a server"
python3 -c "
import json; r = json.load(open('$WORK/boot-cache.json'))
assert r['manifest']['source'] == 'cache' and r['image']['source'] == 'cache', r" || fail "cache boot record"
status=0
"$GOLDROOT_BOOT" --cmdline "boot=goldroot goldroot.server=$url goldroot.mac=52:54:00:aa:00:01" \
  --site-key "$GOLDROOT_SITE/keys/site.pub" --root "$WORK/root" --run-dir "$WORK/run" 2>"$WORK/err" || status=$?
[ "$status" = 3 ] || fail "no server, no cache: exit $status"
ok "cache mode boots its verified copy when the server is gone; normal mode says the server is unreachable"
finish

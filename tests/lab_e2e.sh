#!/usr/bin/env bash
# The end-to-end lab: QEMU clients (software emulation) PXE-boot a Debian
# image (debootstrap: minbase + linux-image-amd64 + systemd) from
# `goldroot serve --dhcp full` in a private network namespace, through
# QEMU's iPXE ROM, dnsmasq, the host's iPXE menu, the image's own initrd
# plus the goldroot initrd, and goldroot-boot. A probe in the site's base
# layer prints what the client sees on its serial console. Asserts:
#   1. the root is an overlay with the image as its lower layer;
#   2. the hostname comes from the host layer's template;
#   3. maintenance mode keeps a file written to /etc across a reboot, on the
#      client's own virtual disk;
#   4. capturing that client's upper layer (read from its disk after it
#      powered off) gives an image that a second client boots with the file;
#   5. reset mode discards the file at the next boot;
#   6. a flipped byte in the served image is refused before mounting, with
#      the reason on the console.
# Prints boot times (QEMU start to login prompt) for the issue note.
source "$(dirname "$0")/lib.sh"
require_root
command -v qemu-system-x86_64 >/dev/null || require "qemu-system-x86"
command -v dnsmasq >/dev/null || require "dnsmasq"
command -v debootstrap >/dev/null || require "debootstrap"
command -v sfdisk >/dev/null || require "sfdisk (fdisk)"

cache=${GOLDROOT_CACHE:-/var/cache/goldroot}
"$SOURCE_DIR/scripts/build-rootfs.sh" "$cache/demo-rootfs" linux-image-amd64 systemd systemd-sysv \
  || fail "building the image with debootstrap"
goldroot=$GOLDROOT
LAB_NS=goldroot-e2e-$$
source "$SOURCE_DIR/scripts/lib/lab.sh"

mac1=52:54:00:77:00:01
mac2=52:54:00:77:00:02
gr init >/dev/null
gr image import "$cache/demo-rootfs" --name lab -m "bookworm with kernel and systemd" >/dev/null
gr image export lab >/dev/null
gr channel set gold lab >/dev/null
gr network add 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1 >/dev/null
gr lab add e2e --network 10.77.0.0/24 >/dev/null
gr host add pc01 --mac $mac1 --ip 10.77.0.11 --lab e2e --mode maintenance >/dev/null
gr host add pc02 --mac $mac2 --ip 10.77.0.12 --lab e2e >/dev/null
lab_probe_layer poweroff

chmod 0755 "$WORK"  # dnsmasq drops to nobody and reads its files under the site
lab_up "$WORK/lab"
on_exit lab_down
# The consoles and the server's log outlive the test, for whoever reads a failure.
logs=${GOLDROOT_LAB_LOGS:-/tmp/goldroot-lab-logs}
on_exit "rm -rf $logs; mkdir -p $logs; cp $WORK/lab/*.log $logs/ 2>/dev/null"
lab_serve || fail "goldroot serve did not start"

# The value a client's probe printed for KEY.
probe() {
  tr -d '\r' <"$LAB_DIR/$1.log" | grep -aoE "PROBE $2=[^[:space:]]*" | tail -1 | cut -d= -f2-
}
# Boots NAME, waits for its probe and login prompt, then for it to power off.
boot_and_probe() {
  lab_wait "$1" 'PROBE done' 600 || fail "$1 did not finish booting (see its console above)"
  lab_wait "$1" 'login:' 120 || fail "$1 showed no login prompt"
}

# Boot A: pc01 in maintenance mode, with a blank disk.
disk=$(lab_disk pc01 2G)
lab_boot pc01 $mac1 "$disk"
boot_and_probe pc01
first_boot=$(lab_seconds_to pc01 'login:')
[ "$(probe pc01 fstype)" = overlay ] || fail "root is $(probe pc01 fstype), not an overlay"
probe pc01 options | grep -q "lowerdir=/run/goldroot/middle:/run/goldroot/image" \
  || fail "overlay options: $(probe pc01 options)"
[ "$(probe pc01 image)" = erofs ] || fail "the lower is $(probe pc01 image), not the erofs image"
ok "a PXE-booted client runs on an overlay root whose lower layer is the erofs image"
[ "$(probe pc01 hostname)" = pc01 ] || fail "hostname $(probe pc01 hostname), want pc01 from the template"
ok "the hostname comes from the host layer's template"
[ "$(probe pc01 marker)" = none ] || fail "a fresh client already had a marker"
marker=$(probe pc01 boot)
lab_stopped pc01 180 || fail "pc01 did not power off"
cp "$LAB_DIR/pc01.log" "$WORK/pc01-first.log"

# Boot B: again in maintenance mode; the file written in /etc is still there.
lab_boot pc01 $mac1 "$disk"
boot_and_probe pc01
[ "$(probe pc01 marker)" = "$marker" ] || fail "maintenance lost /etc/goldroot-marker: $(probe pc01 marker)"
ok "maintenance mode keeps a file written to /etc across a reboot, on the client's disk"
captured=$(probe pc01 boot)  # this boot's probe rewrote the marker: the capture holds this
lab_stopped pc01 180 || fail "pc01 did not power off"

# Capture the maintained client's upper layer from its disk.
start=$(sfdisk -J "$disk" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["start"])')
mkdir -p "$WORK/data"
mount -o ro,loop,offset=$((start * 512)) "$disk" "$WORK/data" || fail "mounting pc01's data partition"
on_exit "umount $WORK/data 2>/dev/null"
gr capture --lower lab --upper "$WORK/data/goldroot/upper" --name maintained -m "captured from pc01" \
  >"$WORK/capture.out" 2>&1 || fail "capture: $(cat "$WORK/capture.out")"
umount "$WORK/data"
gr image export maintained >/dev/null
gr channel set test maintained >/dev/null
gr host set pc02 channel=test >/dev/null
gr host set pc01 mode=reset >/dev/null

# Boots C and D at once: pc01 in reset mode, pc02 (a canary on `test`).
lab_boot pc01 $mac1 "$disk"
lab_boot pc02 $mac2
boot_and_probe pc01
boot_and_probe pc02
two_at_once="$(lab_seconds_to pc01 'login:') $(lab_seconds_to pc02 'login:')"
[ "$(probe pc01 marker)" = none ] || fail "reset kept /etc/goldroot-marker: $(probe pc01 marker)"
ok "reset mode discards the file at the next boot"
[ "$(probe pc02 marker)" = "$captured" ] || fail "pc02 booted without the captured file: $(probe pc02 marker)"
ok "a capture of the maintained client's upper layer boots on a second client with the file present"
# goldroot-agent came with the goldroot initrd: pc02 reports what it runs
# and that it changed (the probe wrote its marker into /etc).
maintained=$(gr image show maintained --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["commit"])')
for _ in $(seq 1 120); do
  gr status --json >"$WORK/status.json"
  python3 - "$WORK/status.json" "$maintained" <<'PY' && break
import json, sys
hosts = {h["name"]: h for h in json.load(open(sys.argv[1]))}
pc02 = hosts["pc02"]
sys.exit(0 if pc02["commit"] == sys.argv[2] and pc02["dirty"] and pc02["changes"] >= 1 else 1)
PY
  sleep 1
done
python3 - "$WORK/status.json" "$maintained" <<'PY' || fail "status after the agents' reports: $(gr status)"
import json, sys
hosts = {h["name"]: h for h in json.load(open(sys.argv[1]))}
pc02 = hosts["pc02"]
assert pc02["commit"] == sys.argv[2] and pc02["dirty"] and pc02["changes"] >= 1, pc02
assert pc02["last_seen"], pc02
PY
gr changes --host pc02 | grep -q 'etc/goldroot-marker' || fail "changes --host pc02: $(gr changes --host pc02)"
ok "the agent in a PXE-booted client reports its image and its change; status and changes --host show them"
gr status

lab_stopped pc01 180 || fail "pc01 did not power off"
lab_stopped pc02 180 || fail "pc02 did not power off"

# Boot E: one flipped byte in the image pc02 is given.
artifact=$GOLDROOT_SITE/exports/$(gr image show maintained --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["commit"])').erofs
[ -f "$artifact" ] || fail "no artifact at $artifact"
python3 - "$artifact" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(4096 * 3 + 17); b = f.read(1); f.seek(4096 * 3 + 17); f.write(bytes([b[0] ^ 0x20]))
PY
lab_boot pc02 $mac2
lab_wait pc02 'boot attempt 1 failed' 600 || fail "pc02 did not report the bad image"
tr -d '\r' <"$LAB_DIR/pc02.log" | grep -aq "image digest mismatch: expected [0-9a-f]\{64\}, got [0-9a-f]\{64\}; refusing to mount" \
  || fail "the console does not say why: $(tr -d '\r' <"$LAB_DIR/pc02.log" | grep -a goldroot | tail -3)"
! grep -aq "root is ready" "$LAB_DIR/pc02.log" || fail "pc02 mounted a corrupt image"
ok "a flipped image byte is refused before mounting, and the console says why"
lab_kill pc02

echo "# boot to login prompt: one client ${first_boot}s; two at once ${two_at_once}s"
finish

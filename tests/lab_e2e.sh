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
#   4. `capture --host` of that running client (its agent uploads the upper)
#      makes channel test; a canary boots it with the file; a promote makes
#      it gold, and a client booting gold then has it;
#   5. reset mode discards the file at the next boot;
#   6. a client that booted the old gold keeps working through the promote
#      and `image gc`, which keeps its export until it runs the new one;
#   7. a flipped byte in the served image is refused before mounting, with
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
mac3=52:54:00:77:00:03
gr init >/dev/null
old_gold=$(gr image import "$cache/demo-rootfs" --name lab -m "bookworm with kernel and systemd")
gr image export lab >/dev/null
gr channel set gold lab >/dev/null
gr network add 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1 >/dev/null
# pc01 keeps its key on its disk (trusted on first use); diskless pc02 and
# pc03 make one per boot, taken from a privileged port and their own IP.
gr lab add e2e --network 10.77.0.0/24 --enroll port >/dev/null
gr host add pc01 --mac $mac1 --ip 10.77.0.11 --lab e2e --mode maintenance >/dev/null
gr host add pc02 --mac $mac2 --ip 10.77.0.12 --lab e2e >/dev/null
gr host add pc03 --mac $mac3 --ip 10.77.0.13 --lab e2e >/dev/null
lab_probe_layer poweroff
lab_probe_hold pc03 on  # pc03 runs the old gold through promote and gc
# The lab's agents report every 10 s (a site would set this per lab).
mkdir -p "$GOLDROOT_SITE/layers/labs/e2e/etc/goldroot"
echo "interval = 10" >"$GOLDROOT_SITE/layers/labs/e2e/etc/goldroot/agent.conf"

chmod 0755 "$WORK"  # dnsmasq drops to nobody and reads its files under the site
lab_up "$WORK/lab"
on_exit lab_down
# The consoles and the server's log outlive the test, for whoever reads a failure.
logs=${GOLDROOT_LAB_LOGS:-/tmp/goldroot-lab-logs}
on_exit "rm -rf $logs; mkdir -p $logs; cp $WORK/lab/*.log $logs/ 2>/dev/null"
lab_serve || fail "goldroot serve did not start"

# The value a client's probe printed for KEY.
# Waits for NAME's probe and login prompt.
boot_and_probe() {
  lab_wait "$1" 'PROBE done' 600 || fail "$1 did not finish booting (see its console above)"
  lab_wait "$1" 'login:' 120 || fail "$1 showed no login prompt"
}
# Waits until `goldroot status --json` satisfies the Python expression
# COND over `h` (the host's entry), e.g. 'h["state"] == "up"'.
wait_status() {
  local host=$1 cond=$2 seconds=${3:-120}
  for _ in $(seq 1 "$seconds"); do
    gr status --json >"$WORK/status.json"
    python3 - "$WORK/status.json" "$host" "$cond" <<'PY' && return 0
import json, sys
h = {h["name"]: h for h in json.load(open(sys.argv[1]))}[sys.argv[2]]
sys.exit(0 if eval(sys.argv[3]) else 1)
PY
    sleep 1
  done
  fail "$host never reached $cond: $(gr status)"
}
commit_of() { gr image show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["commit"])'; }
# Counts NAME's "PROBE alive" lines.
alive_lines() { tr -d '\r' <"$LAB_DIR/$1.log" | grep -ac "PROBE alive=" || true; }

# Boot A: pc01 in maintenance mode with a blank disk; pc03 on gold, staying up.
disk=$(lab_disk pc01 2G)
lab_boot pc01 $mac1 "$disk"
lab_boot pc03 $mac3
boot_and_probe pc01
boot_and_probe pc03
first_boot="$(lab_seconds_to pc01 'login:') $(lab_seconds_to pc03 'login:')"
[ "$(lab_probe pc01 fstype)" = overlay ] || fail "root is $(lab_probe pc01 fstype), not an overlay"
lab_probe pc01 options | grep -q "lowerdir=/run/goldroot/middle:/run/goldroot/image" \
  || fail "overlay options: $(lab_probe pc01 options)"
[ "$(lab_probe pc01 image)" = erofs ] || fail "the lower is $(lab_probe pc01 image), not the erofs image"
ok "a PXE-booted client runs on an overlay root whose lower layer is the erofs image"
[ "$(lab_probe pc01 hostname)" = pc01 ] || fail "hostname $(lab_probe pc01 hostname), want pc01 from the template"
[ "$(lab_probe pc03 hostname)" = pc03 ] || fail "hostname $(lab_probe pc03 hostname), want pc03"
ok "the hostname comes from the host layer's template"
# host_key NAME FIELD: a field of NAME's row in host keys --json.
host_key() { gr host keys --json | python3 -c "import json, sys; print({h['host']: h for h in json.load(sys.stdin)}['$1']['$2'])"; }
pc01_key=$(host_key pc01 key_id)
[ "$(host_key pc01 state)/$(host_key pc01 persistent)" = enrolled/True ] || fail "pc01's key: $(gr host keys)"
[ "$(host_key pc03 state)/$(host_key pc03 persistent)" = enrolled/False ] || fail "pc03's key: $(gr host keys)"
ok "pc01 enrolled the key it made on its disk; diskless pc03 one for this boot, from a privileged port and its IP"
[ "$(lab_probe pc01 marker)" = none ] || fail "a fresh client already had a marker"
marker=$(lab_probe pc01 boot)
lab_stopped pc01 180 || fail "pc01 did not power off"

# Boot B: pc01 in maintenance mode again, staying up to be captured.
lab_probe_hold pc01 on
lab_boot pc01 $mac1 "$disk"
boot_and_probe pc01
[ "$(lab_probe pc01 marker)" = "$marker" ] || fail "maintenance lost /etc/goldroot-marker: $(lab_probe pc01 marker)"
ok "maintenance mode keeps a file written to /etc across a reboot, on the client's disk"
[ "$(host_key pc01 key_id)" = "$pc01_key" ] && [ "$(host_key pc01 refused)" = None ] ||
  fail "pc01 came back with another key: $(gr host keys)"
ok "pc01 proves itself with the same key from its disk at its second boot"
captured=$(lab_probe pc01 boot)  # this boot's probe rewrote the marker: the capture holds this
wait_status pc01 'h["state"] == "up" and h["mode"] == "maintenance" and h["dirty"]'
capture_start=$SECONDS
gr capture --host pc01 --name maintained -m "captured from pc01" --wait 300 --yes \
  >"$WORK/capture.out" 2>"$WORK/capture.err" || fail "capture --host: $(cat "$WORK/capture.err")"
capture_seconds=$((SECONDS - capture_start))
cat "$WORK/capture.err"
maintained=$(tail -1 "$WORK/capture.out")
[ "$maintained" = "$(commit_of test)" ] || fail "test is not the capture"
gr image diff gold test >"$WORK/diff.out"
grep -q "^A /etc/goldroot-marker$" "$WORK/diff.out" || fail "image diff gold test: $(cat "$WORK/diff.out")"
! grep -q "/etc/machine-id\|/var/log" "$WORK/diff.out" || fail "boot noise was captured: $(cat "$WORK/diff.out")"
ok "capture --host pc01: its agent uploaded the live upper; test is the capture and image diff gold test shows the file"
lab_kill pc01
lab_probe_hold pc01 off
gr host set pc02 channel=test >/dev/null
gr host set pc01 mode=reset >/dev/null

# Boots C and D at once: pc01 in reset mode on gold, pc02 a canary on test.
lab_boot pc01 $mac1 "$disk"
lab_boot pc02 $mac2
boot_and_probe pc01
boot_and_probe pc02
two_at_once="$(lab_seconds_to pc01 'login:') $(lab_seconds_to pc02 'login:')"
[ "$(lab_probe pc01 marker)" = none ] || fail "reset kept /etc/goldroot-marker: $(lab_probe pc01 marker)"
ok "reset mode discards the file at the next boot"
[ "$(lab_probe pc02 marker)" = "$captured" ] || fail "pc02 booted without the captured file: $(lab_probe pc02 marker)"
ok "a canary on test boots the capture, with the file present"
# goldroot-agent came with the goldroot initrd: pc02 reports what it runs
# and that it changed (the probe wrote its marker into /etc).
wait_status pc02 "h['commit'] == '$maintained' and h['dirty'] and h['changes'] >= 1 and h['last_seen']"
gr changes --host pc02 | grep -q 'etc/goldroot-marker' || fail "changes --host pc02: $(gr changes --host pc02)"
ok "the agent in a PXE-booted client reports its image and its change; status and changes --host show them"
lab_stopped pc01 180 || fail "pc01 did not power off"
lab_stopped pc02 180 || fail "pc02 did not power off"

# Promote; then retire the old image: only pc03, which runs it, still needs it.
gr promote >/dev/null
[ "$(commit_of gold)" = "$maintained" ] || fail "gold is not the capture after promote"
wait_status pc03 "h['state'] == 'up' and h['commit'] == '$old_gold' and h['current'] is False"
gr image rm lab >/dev/null
gr channel set previous maintained >/dev/null
gr image gc --history-days 0 >/dev/null
gr image show "$old_gold" >/dev/null || fail "gc removed the image pc03 runs"
[ -f "$GOLDROOT_SITE/exports/$old_gold.erofs" ] || fail "gc removed the export of the image pc03 runs"
gr image users "$old_gold" | grep -q "pc03 .*running" || fail "image users: $(gr image users "$old_gold")"
before=$(alive_lines pc03)
image_digest=$(lab_probe pc03 image)
for _ in $(seq 1 60); do [ "$(alive_lines pc03)" -gt "$before" ] && break; sleep 1; done
[ "$(alive_lines pc03)" -gt "$before" ] || fail "pc03 stopped working after the promote and gc"
[ "$(lab_probe pc03 image)" = "$image_digest" ] || fail "pc03 reads different bytes from its image now"
wait_status pc03 "h['state'] == 'up'" 30
gr status
ok "pc03, booted on the old gold, keeps working through the promote and gc, which keep its image and export"

# Boot E: pc03 reboots onto the new gold; then the old image may go.
lab_kill pc03
lab_probe_hold pc03 off
lab_boot pc03 $mac3
boot_and_probe pc03
[ "$(lab_probe pc03 marker)" = "$captured" ] || fail "pc03 booted gold without the captured file: $(lab_probe pc03 marker)"
ok "after the promote, a client booting gold has the maintained client's change"
wait_status pc03 "h['commit'] == '$maintained'"
gr image users "$old_gold" | grep -q "0 running it" || fail "image users: $(gr image users "$old_gold")"
gr image gc --history-days 0 >/dev/null
# The old gold stays in the store as the capture's parent (image log), but
# nothing boots it any more: its export goes.
[ ! -e "$GOLDROOT_SITE/exports/$old_gold.erofs" ] || fail "gc kept the export nothing boots"
[ -f "$GOLDROOT_SITE/exports/$maintained.erofs" ] || fail "gc removed gold's export"
ok "once no client runs the old gold, gc removes its export (the commit stays as history)"
lab_stopped pc03 180 || fail "pc03 did not power off"

# Boot F: one flipped byte in the image pc02 is given, downloaded whole
# (fetch=full: refused before mounting; on demand the block is an I/O error
# for its reads, tests/blockd_net_vm.sh).
gr host set pc02 fetch=full >/dev/null
artifact=$GOLDROOT_SITE/exports/$maintained.erofs
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

echo "# boot to login prompt: two at once ${first_boot}s; again two at once ${two_at_once}s"
echo "# capture --host of a running client (request, upload, capture, export): ${capture_seconds}s"
finish

#!/usr/bin/env bash
# A dracut image in the lab: the demo image with dracut in place of
# initramfs-tools (scripts/build-dracut-rootfs.sh) PXE-boots one QEMU client
# from `goldroot serve --dhcp full` in a private network namespace, through
# the image's own dracut initrd plus the goldroot initrd, whose dracut hooks
# run goldroot-boot. Asserts:
#   1. the client booted through dracut, and goldroot's mount hook mounted
#      the root (the console shows both);
#   2. the root is an overlay with the erofs image as its lower layer;
#   3. the hostname comes from the host layer's template;
#   4. the agent the goldroot initrd brought reports the host up.
# Prints the time from QEMU start to the probe and to the login prompt.
source "$(dirname "$0")/lib.sh"
require_root
command -v qemu-system-x86_64 >/dev/null || require "qemu-system-x86"
command -v dnsmasq >/dev/null || require "dnsmasq"
command -v debootstrap >/dev/null || require "debootstrap"

cache=${GOLDROOT_CACHE:-/var/cache/goldroot}
"$SOURCE_DIR/scripts/build-rootfs.sh" "$cache/demo-rootfs" linux-image-amd64 systemd systemd-sysv \
  || fail "building the image with debootstrap"
"$SOURCE_DIR/scripts/build-dracut-rootfs.sh" "$cache/demo-rootfs" "$cache/dracut-rootfs" \
  || fail "building the dracut variant of the image"
goldroot=$GOLDROOT
LAB_NS=goldroot-dracut-$$
source "$SOURCE_DIR/scripts/lib/lab.sh"

mac=52:54:00:77:00:21
gr init >/dev/null
commit=$(gr image import "$cache/dracut-rootfs" --name dracut -m "bookworm with dracut")
gr image export dracut >/dev/null
gr channel set gold dracut >/dev/null
gr network add 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1 >/dev/null
gr lab add e2e --network 10.77.0.0/24 --enroll port >/dev/null
gr host add pc21 --mac $mac --ip 10.77.0.21 --lab e2e >/dev/null
lab_probe_layer poweroff
# After dracut's switch-root, serial-getty@ttyS0 fails at boot ("Dependency
# failed": its dev-ttyS0.device) where it starts after initramfs-tools; the
# base layer starts it again once udev has settled, so that the serial
# console can show the login prompt. The boot is timed to the probe.
base=$GOLDROOT_SITE/layers/base/etc/systemd/system
cat >"$base/lab-serial-getty.service" <<'UNIT'
[Unit]
Description=serial getty on ttyS0 once udev has settled (goldroot dracut lab)
After=systemd-udev-trigger.service systemd-udev-settle.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'udevadm settle; systemctl reset-failed serial-getty@ttyS0.service; systemctl start --no-block serial-getty@ttyS0.service'
UNIT
ln -sf ../lab-serial-getty.service "$base/multi-user.target.wants/lab-serial-getty.service"
lab_probe_hold pc21 on  # up until its agent has reported
mkdir -p "$GOLDROOT_SITE/layers/labs/e2e/etc/goldroot"
echo "interval = 10" >"$GOLDROOT_SITE/layers/labs/e2e/etc/goldroot/agent.conf"

chmod 0755 "$WORK"  # dnsmasq drops to nobody and reads its files under the site
lab_up "$WORK/lab"
on_exit lab_down
logs=${GOLDROOT_LAB_LOGS:-/tmp/goldroot-dracut-logs}
on_exit "rm -rf $logs; mkdir -p $logs; cp $WORK/lab/*.log $logs/ 2>/dev/null"
lab_serve || fail "goldroot serve did not start"


lab_boot pc21 $mac
lab_wait pc21 'PROBE done' 900 || fail "pc21 did not finish booting (see its console above)"
booted=$(lab_seconds_to pc21 'PROBE done')
login=none
lab_wait pc21 'login:' 120 && login="$(lab_seconds_to pc21 'login:')s"

# Read from a copy: grep -q stopping early would fail a pipeline (pipefail).
tr -d '\r' <"$LAB_DIR/pc21.log" >"$WORK/console"
grep -aq "Starting dracut-cmdline.service - dracut cmdline hook" "$WORK/console" ||
  fail "the console shows no dracut initrd: $(grep -ai dracut "$WORK/console" | head -3)"
grep -aqE "dracut-mount\[[0-9]+\]: goldroot-boot: normal root .* mounted at /sysroot" "$WORK/console" ||
  fail "goldroot-boot did not mount the root from dracut's mount hook: $(grep -a goldroot "$WORK/console" | tail -3)"
grep -aqE "dracut-mount\[[0-9]+\]: goldroot: root is ready" "$WORK/console" ||
  fail "goldroot's dracut mount hook did not say the root is ready"
ok "the image's own dracut initrd ran goldroot's hooks from the goldroot initrd"
[ "$(lab_probe pc21 fstype)" = overlay ] || fail "root is $(lab_probe pc21 fstype), not an overlay"
lab_probe pc21 options | grep -q "lowerdir=/run/goldroot/middle:/run/goldroot/image" ||
  fail "overlay options: $(lab_probe pc21 options)"
[ "$(lab_probe pc21 image)" = erofs ] || fail "the lower is $(lab_probe pc21 image), not the erofs image"
ok "the dracut client runs on an overlay root whose lower layer is the erofs image"
[ "$(lab_probe pc21 hostname)" = pc21 ] || fail "hostname $(lab_probe pc21 hostname), want pc21 from the template"
ok "the hostname comes from the host layer's template"
reported=no
for _ in $(seq 1 120); do
  gr status --json >"$WORK/status.json"
  if python3 - "$WORK/status.json" "$commit" <<'PY'; then reported=yes; break; fi
import json, sys
h = {h["name"]: h for h in json.load(open(sys.argv[1]))}["pc21"]
sys.exit(0 if h["state"] == "up" and h["commit"] == sys.argv[2] else 1)
PY
  sleep 1
done
[ $reported = yes ] || fail "pc21 never reported up on the dracut image: $(gr status)"
ok "its agent reports it up, running the dracut image"
lab_kill pc21

echo "# dracut client, QEMU start to its probe: ${booted}s; to the serial login prompt: $login"
finish

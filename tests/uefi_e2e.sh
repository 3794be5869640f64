#!/usr/bin/env bash
# The end-to-end lab for UEFI PCs: QEMU clients with OVMF firmware PXE-boot
# the demo image from `goldroot serve --dhcp full` in a private network
# namespace, through the firmware's own PXE (no iPXE ROM on the NIC).
# Asserts:
#   1. a registered UEFI PC booting through its second registered MAC gets
#      Debian's ipxe.efi by TFTP, its menu, and reaches its overlay root with
#      its templated hostname;
# Prints boot times (QEMU start to login prompt) for the issue note.
source "$(dirname "$0")/lib.sh"
require_root
command -v qemu-system-x86_64 >/dev/null || require "qemu-system-x86"
command -v dnsmasq >/dev/null || require "dnsmasq"
command -v debootstrap >/dev/null || require "debootstrap"
[ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || require "ovmf"

cache=${GOLDROOT_CACHE:-/var/cache/goldroot}
"$SOURCE_DIR/scripts/build-rootfs.sh" "$cache/demo-rootfs" linux-image-amd64 systemd systemd-sysv \
  || fail "building the image with debootstrap"
goldroot=$GOLDROOT
LAB_NS=goldroot-uefi-$$
source "$SOURCE_DIR/scripts/lib/lab.sh"

gr init >/dev/null
gr image import "$cache/demo-rootfs" --name lab -m "bookworm with kernel and systemd" >/dev/null
gr image export lab >/dev/null
gr channel set gold lab >/dev/null
gr network add 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1 >/dev/null
gr lab add uefi --network 10.77.0.0/24 --enroll first-use >/dev/null
# uefi01's firmware boots from its second NIC.
gr host add uefi01 --mac 52:54:00:78:00:01 --mac 52:54:00:78:01:01 --ip 10.77.0.21 --lab uefi >/dev/null
lab_probe_layer poweroff

chmod 0755 "$WORK"  # dnsmasq drops to nobody and reads its files under the site
lab_up "$WORK/lab"
on_exit lab_down
logs=${GOLDROOT_LAB_LOGS:-/tmp/goldroot-lab-logs}/uefi
on_exit "rm -rf $logs; mkdir -p $logs; cp $WORK/lab/*.log $logs/ 2>/dev/null"
lab_serve || fail "goldroot serve did not start"

probe() {
  tr -d '\r' <"$LAB_DIR/$1.log" | grep -aoE "PROBE $2=[^[:space:]]*" | tail -1 | cut -d= -f2-
}
boot_and_probe() {
  lab_wait "$1" 'PROBE done' 900 || fail "$1 did not finish booting (see its console above)"
  lab_wait "$1" 'login:' 120 || fail "$1 showed no login prompt"
}

LAB_FIRMWARE=uefi lab_boot uefi01 52:54:00:78:01:01
boot_and_probe uefi01
uefi_ipxe=$(lab_seconds_to uefi01 'login:')
grep -q "sent .*/ipxe.efi to 10.77.0.21" "$LAB_DIR/dnsmasq.log" "$GOLDROOT_SITE/dnsmasq/dnsmasq.log" 2>/dev/null ||
  fail "the firmware did not get ipxe.efi by TFTP: $(grep -h tftp "$GOLDROOT_SITE/dnsmasq/dnsmasq.log" | tail -3)"
[ "$(probe uefi01 fstype)" = overlay ] || fail "uefi01's root is $(probe uefi01 fstype), not an overlay"
[ "$(probe uefi01 hostname)" = uefi01 ] || fail "uefi01's hostname is $(probe uefi01 hostname)"
ok "a UEFI PC booting through its second MAC gets ipxe.efi by TFTP and reaches its overlay root as uefi01"
lab_stopped uefi01 180 || fail "uefi01 did not power off"

echo "# boot to login prompt: UEFI iPXE by TFTP ${uefi_ipxe}s"
finish

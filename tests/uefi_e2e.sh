#!/usr/bin/env bash
# The end-to-end lab for UEFI PCs: QEMU clients with OVMF firmware PXE-boot
# the demo image from `goldroot serve --dhcp full` in a private network
# namespace, through the firmware's own PXE (no iPXE ROM on the NIC).
# Asserts:
#   1. a registered UEFI PC booting through its second registered MAC gets
#      Debian's ipxe.efi by TFTP, its menu, and reaches its overlay root with
#      its templated hostname;
#   2. a PC with Secure Boot on and only the site's key enrolled refuses, at
#      the firmware, what a rogue DHCP server hands it: the image's own
#      kernel (signed by Debian, not the site) and that kernel unsigned.
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

# rogue_dhcp FILE: a student's DHCP and TFTP server, on a bridge of its own
# in the lab namespace (so it does not race goldroot's for the other
# clients), offering FILE as every client's boot file.
rogue_dhcp() {
  local dir=$WORK/rogue
  if ! ip -n "$LAB_NS" link show grrogue >/dev/null 2>&1; then
    ip -n "$LAB_NS" link add grrogue type bridge
    ip -n "$LAB_NS" addr add 10.78.0.1/24 dev grrogue
    ip -n "$LAB_NS" link set grrogue up
  fi
  [ -f "$dir/dnsmasq.pid" ] && kill "$(cat "$dir/dnsmasq.pid")" 2>/dev/null
  mkdir -p "$dir"
  chmod 0755 "$dir"
  cp "$1" "$dir/boot.efi"
  chmod 0644 "$dir/boot.efi"
  ip netns exec "$LAB_NS" dnsmasq --conf-file=/dev/null --port=0 --interface=grrogue --bind-interfaces \
    --dhcp-range=10.78.0.50,10.78.0.90,1h --dhcp-boot=boot.efi --enable-tftp --tftp-root="$dir" \
    --pid-file="$dir/dnsmasq.pid" --dhcp-leasefile="$dir/leases" --log-facility="$dir/dnsmasq.log" \
    || fail "the rogue dnsmasq did not start"
  on_exit "kill \$(cat $dir/dnsmasq.pid) 2>/dev/null"
}
# refused_by_firmware NAME: NAME's firmware downloads the rogue's file and
# refuses to run it.
refused_by_firmware() {
  LAB_BRIDGE=grrogue LAB_FIRMWARE=secureboot-snakeoil lab_boot "$1" 52:54:00:78:0f:01
  lab_wait "$1" 'NBP file downloaded successfully' 300 || fail "$1 did not download the rogue's file"
  lab_wait "$1" 'Access Denied' 120 || fail "$1's firmware ran the rogue's file"
  ! grep -aq "Linux version\|EFI stub" "$LAB_DIR/$1.log" || fail "$1 started the rogue's kernel"
  lab_kill "$1"
}

kernel=$(ls "$cache"/demo-rootfs/boot/vmlinuz-* | head -1)
rogue_dhcp "$kernel"
refused_by_firmware rogue01
sbattach --remove "$kernel" --output "$WORK/unsigned-kernel" >/dev/null 2>&1 ||
  { cp "$kernel" "$WORK/unsigned-kernel"; sbattach --remove "$WORK/unsigned-kernel" >/dev/null; }
rogue_dhcp "$WORK/unsigned-kernel"
refused_by_firmware rogue02
ok "Secure Boot with the site's key: the firmware refuses a rogue DHCP server's Debian-signed and unsigned kernels"

LAB_FIRMWARE=uefi lab_boot uefi01 52:54:00:78:01:01
boot_and_probe uefi01
uefi_ipxe=$(lab_seconds_to uefi01 'login:')
grep -q "sent .*/ipxe.efi to 10.77.0.21" "$LAB_DIR/dnsmasq.log" "$GOLDROOT_SITE/dnsmasq/dnsmasq.log" 2>/dev/null ||
  fail "the firmware did not get ipxe.efi by TFTP: $(grep -h tftp "$GOLDROOT_SITE/dnsmasq/dnsmasq.log" | tail -3)"
[ "$(probe uefi01 fstype)" = overlay ] || fail "uefi01's root is $(probe uefi01 fstype), not an overlay"
[ "$(probe uefi01 hostname)" = uefi01 ] || fail "uefi01's hostname is $(probe uefi01 hostname)"
[ "$(probe uefi01 secureboot)" = 0 ] || fail "uefi01 booted with SecureBoot=$(probe uefi01 secureboot), want 0 (UEFI, off)"
ok "a UEFI PC booting through its second MAC gets ipxe.efi by TFTP and reaches its overlay root as uefi01"
lab_stopped uefi01 180 || fail "uefi01 did not power off"

echo "# boot to login prompt: UEFI iPXE by TFTP ${uefi_ipxe}s"
finish

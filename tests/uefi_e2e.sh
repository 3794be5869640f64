#!/usr/bin/env bash
# The end-to-end lab for the PCs a real lab has: QEMU clients with OVMF
# UEFI firmware PXE-boot the demo image from `goldroot serve --dhcp full`
# (--unknown default-image) in a private network namespace, through the
# firmware's own PXE (no iPXE ROM on the NIC). Two clients at a time.
# Asserts:
#   1. a registered UEFI PC booting through its second registered MAC gets
#      Debian's ipxe.efi by TFTP, its menu, and reaches its overlay root with
#      its templated hostname;
#   2. a PC with Secure Boot on and Microsoft's keys enrolled, in a lab set
#      to uefi=shim, boots through Debian's signed shim and GRUB (its
#      per-MAC configuration by TFTP) into the image's signed kernel: the
#      firmware says Secure Boot is on, the kernel is locked down, and a
#      module of the image still loads;
#   3. an unregistered UEFI PC boots the default image as unreg-<MAC>,
#      `status` shows it unregistered, and `host add` adopts it by MAC;
#   4. a PC with Secure Boot on and only the site's key enrolled (Debian's
#      OVMF test key pair, taken as the site's Secure Boot key), in a lab
#      set to uefi=uki, boots the site-signed unified kernel image the
#      firmware gets by TFTP for its MAC;
#   5. that PC refuses, at the firmware, what a rogue DHCP server hands it:
#      the image's own kernel (signed by Debian, not the site) and the
#      site's unified kernel image with its signature removed.
# Prints boot times (QEMU start to login prompt) for the issue note.
source "$(dirname "$0")/lib.sh"
require_root
command -v qemu-system-x86_64 >/dev/null || require "qemu-system-x86"
command -v dnsmasq >/dev/null || require "dnsmasq"
command -v debootstrap >/dev/null || require "debootstrap"
command -v sbattach >/dev/null || require "sbattach (sbsigntool)"
snakeoil=/usr/share/ovmf/PkKek-1-snakeoil
for file in /usr/share/OVMF/OVMF_CODE_4M.secboot.fd "$snakeoil.key" /usr/lib/shim/shimx64.efi.signed \
  /usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed /usr/lib/systemd/boot/efi/linuxx64.efi.stub; do
  [ -r "$file" ] || require "$file (scripts/setup.sh installs it)"
done

cache=${GOLDROOT_CACHE:-/var/cache/goldroot}
"$SOURCE_DIR/scripts/build-rootfs.sh" "$cache/demo-rootfs" linux-image-amd64 systemd systemd-sysv \
  || fail "building the image with debootstrap"
goldroot=$GOLDROOT
LAB_NS=goldroot-uefi-$$
source "$SOURCE_DIR/scripts/lib/lab.sh"

# The site's Secure Boot key is the test pair OVMF's snakeoil variables
# trust (its key is encrypted with the password "snakeoil").
openssl pkey -in "$snakeoil.key" -passin pass:snakeoil -out "$WORK/snakeoil.key"
gr init --secure-boot-key "$WORK/snakeoil.key" --secure-boot-cert "$snakeoil.pem" >/dev/null
gr image import "$cache/demo-rootfs" --name lab -m "bookworm with kernel and systemd" >/dev/null
gr image export lab >/dev/null
gr channel set gold lab >/dev/null
gr network add 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1 >/dev/null
gr lab add uefi --network 10.77.0.0/24 --enroll first-use >/dev/null
gr lab add sb --enroll first-use --uefi shim >/dev/null
gr lab add signed --enroll first-use --uefi uki >/dev/null
# uefi01's firmware boots from its second NIC.
gr host add uefi01 --mac 52:54:00:78:00:01 --mac 52:54:00:78:01:01 --ip 10.77.0.21 --lab uefi >/dev/null
gr host add sb01 --mac 52:54:00:78:00:02 --ip 10.77.0.22 --lab sb >/dev/null
gr host add uki01 --mac 52:54:00:78:00:03 --ip 10.77.0.23 --lab signed >/dev/null
unknown_mac=52:54:00:78:00:09
lab_probe_layer poweroff

chmod 0755 "$WORK"  # dnsmasq drops to nobody and reads its files under the site
lab_up "$WORK/lab"
on_exit lab_down
logs=${GOLDROOT_LAB_LOGS:-/tmp/goldroot-lab-logs}/uefi
on_exit "rm -rf $logs; mkdir -p $logs; cp $WORK/lab/*.log $logs/ 2>/dev/null"
lab_serve --unknown default-image --dhcp-range 10.77.0.100-10.77.0.199 || fail "goldroot serve did not start"
dnsmasq_log=$GOLDROOT_SITE/dnsmasq/dnsmasq.log

boot_and_probe() {
  lab_wait "$1" 'PROBE done' 900 || fail "$1 did not finish booting (see its console above)"
  lab_wait "$1" 'login:' 120 || fail "$1 showed no login prompt"
}
# sent FILE IP: dnsmasq sent FILE (a path under its TFTP root) to IP.
sent() { grep -q "sent .*/$1 to $2" "$dnsmasq_log"; }

# Boots A: a UEFI PC through iPXE, and a Secure Boot PC through shim and GRUB.
LAB_FIRMWARE=uefi lab_boot uefi01 52:54:00:78:01:01
LAB_FIRMWARE=secureboot lab_boot sb01 52:54:00:78:00:02
boot_and_probe uefi01
boot_and_probe sb01
uefi_ipxe=$(lab_seconds_to uefi01 'login:')
shim_grub=$(lab_seconds_to sb01 'login:')
sent ipxe.efi 10.77.0.21 || fail "uefi01's firmware did not get ipxe.efi: $(grep -h tftp "$dnsmasq_log" | tail -3)"
[ "$(lab_probe uefi01 fstype)" = overlay ] || fail "uefi01's root is $(lab_probe uefi01 fstype), not an overlay"
[ "$(lab_probe uefi01 hostname)" = uefi01 ] || fail "uefi01's hostname is $(lab_probe uefi01 hostname)"
[ "$(lab_probe uefi01 secureboot)" = 0 ] || fail "uefi01 booted with SecureBoot=$(lab_probe uefi01 secureboot), want 0"
ok "a UEFI PC booting through its second MAC gets ipxe.efi by TFTP and reaches its overlay root as uefi01"
sent shimx64.efi 10.77.0.22 && sent grubx64.efi 10.77.0.22 ||
  fail "sb01 did not boot through shim and GRUB: $(grep -h tftp "$dnsmasq_log" | tail -5)"
! sent ipxe.efi 10.77.0.22 || fail "sb01 was offered ipxe.efi"
[ "$(lab_probe sb01 secureboot)" = 1 ] || fail "sb01's firmware says SecureBoot=$(lab_probe sb01 secureboot), want 1"
[ -n "$(lab_probe sb01 lockdown)" ] && [ "$(lab_probe sb01 lockdown)" != none ] ||
  fail "sb01's kernel is not locked down: '$(lab_probe sb01 lockdown)'"
[ "$(lab_probe sb01 module)" = loaded ] || fail "sb01 could not load a module of its image"
[ "$(lab_probe sb01 fstype)" = overlay ] && [ "$(lab_probe sb01 hostname)" = sb01 ] ||
  fail "sb01: root $(lab_probe sb01 fstype), hostname $(lab_probe sb01 hostname)"
ok "Secure Boot (Microsoft's keys): sb01 boots shim, GRUB and the image's kernel, locked down ($(lab_probe sb01 lockdown)), and loads the image's signed modules"
lab_stopped uefi01 180 || fail "uefi01 did not power off"
lab_stopped sb01 180 || fail "sb01 did not power off"

# Boots B: the site-signed UKI, and an unregistered UEFI PC.
LAB_MEMORY=2048 LAB_FIRMWARE=secureboot-snakeoil lab_boot uki01 52:54:00:78:00:03
LAB_FIRMWARE=uefi lab_boot unknown01 $unknown_mac
boot_and_probe uki01
boot_and_probe unknown01
uki_boot=$(lab_seconds_to uki01 'login:')
unregistered_boot=$(lab_seconds_to unknown01 'login:')
sent 52-54-00-78-00-03/goldroot.efi 10.77.0.23 ||
  fail "uki01 did not get its unified kernel image: $(grep -h tftp "$dnsmasq_log" | tail -5)"
[ "$(lab_probe uki01 secureboot)" = 1 ] || fail "uki01's firmware says SecureBoot=$(lab_probe uki01 secureboot), want 1"
[ "$(lab_probe uki01 fstype)" = overlay ] && [ "$(lab_probe uki01 hostname)" = uki01 ] ||
  fail "uki01: root $(lab_probe uki01 fstype), hostname $(lab_probe uki01 hostname)"
[ "$(lab_probe uki01 module)" = loaded ] || fail "uki01 could not load a module of its image"
ok "Secure Boot with only the site's key: uki01 boots the site-signed unified kernel image it gets by TFTP for its MAC"
unregistered=unreg-$(echo $unknown_mac | tr -d :)
[ "$(lab_probe unknown01 hostname)" = "$unregistered" ] || fail "the unregistered PC is called $(lab_probe unknown01 hostname)"
[ "$(lab_probe unknown01 fstype)" = overlay ] || fail "the unregistered PC's root is $(lab_probe unknown01 fstype)"
gr status --json | python3 -c "
import json, sys
h = {h['name']: h for h in json.load(sys.stdin)}['$unregistered']
assert h['unregistered'] is True, h" || fail "status does not show $unregistered as unregistered: $(gr status)"
gr host add pc-adopted --mac $unknown_mac --lab uefi >"$WORK/adopt.out" || fail "host add: $(cat "$WORK/adopt.out")"
grep -q "adopted" "$WORK/adopt.out" || fail "host add did not adopt: $(cat "$WORK/adopt.out")"
gr status --json | python3 -c "
import json, sys
h = {h['name']: h for h in json.load(sys.stdin)}
assert h['pc-adopted']['unregistered'] is False and '$unregistered' not in h, h" ||
  fail "status after the adoption: $(gr status)"
ok "an unregistered UEFI PC boots the default image as $unregistered, status shows it, host add adopts it"
lab_stopped uki01 180 || fail "uki01 did not power off"
lab_stopped unknown01 180 || fail "unknown01 did not power off"

# Students' DHCP servers on the lab network hand the Secure Boot PC
# something else to boot.
# rogue_dhcp N FILE: a DHCP and TFTP server on a bridge of its own in the lab
# namespace (grrogueN, 10.78.N.0/24, so it does not race goldroot's),
# offering FILE to every client there.
rogue_dhcp() {
  local n=$1 dir=$WORK/rogue$1 bridge=grrogue$1
  ip -n "$LAB_NS" link add $bridge type bridge
  ip -n "$LAB_NS" addr add 10.78.$n.1/24 dev $bridge
  ip -n "$LAB_NS" link set $bridge up
  mkdir -p "$dir"
  chmod 0755 "$dir"
  cp "$2" "$dir/boot.efi"
  chmod 0644 "$dir/boot.efi"
  ip netns exec "$LAB_NS" dnsmasq --conf-file=/dev/null --port=0 --interface=$bridge --bind-interfaces \
    --dhcp-range=10.78.$n.50,10.78.$n.90,1h --dhcp-boot=boot.efi --enable-tftp --tftp-root="$dir" \
    --pid-file="$dir/dnsmasq.pid" --dhcp-leasefile="$dir/leases" --log-facility="$dir/dnsmasq.log" \
    || fail "rogue dnsmasq $n did not start"
  on_exit "kill \$(cat $dir/dnsmasq.pid) 2>/dev/null"
}
uki=$(readlink -f "$GOLDROOT_SITE/dnsmasq/tftp/52-54-00-78-00-03/goldroot.efi")
sbattach --remove "$uki" --output "$WORK/unsigned.efi" >/dev/null 2>&1 ||
  { cp "$uki" "$WORK/unsigned.efi"; sbattach --remove "$WORK/unsigned.efi" >/dev/null; }
rogue_dhcp 1 "$(ls "$cache"/demo-rootfs/boot/vmlinuz-* | head -1)"
rogue_dhcp 2 "$WORK/unsigned.efi"
# Two PCs with uki01's firmware and keys, one on each rogue's bridge, at once:
# each downloads the rogue's file and refuses to run it.
LAB_BRIDGE=grrogue1 LAB_FIRMWARE=secureboot-snakeoil lab_boot rogue01 52:54:00:78:0f:01
LAB_BRIDGE=grrogue2 LAB_FIRMWARE=secureboot-snakeoil lab_boot rogue02 52:54:00:78:0f:02
for name in rogue01 rogue02; do
  lab_wait $name 'NBP file downloaded successfully' 300 || fail "$name did not download the rogue's file"
  lab_wait $name 'Access Denied' 120 || fail "$name's firmware ran the rogue's file"
  ! grep -aq "Linux version\|EFI stub" "$LAB_DIR/$name.log" || fail "$name started the rogue's kernel"
  lab_kill $name
done
ok "Secure Boot with the site's key: the firmware refuses a rogue DHCP server's Debian-signed kernel and the site's image unsigned"

echo "# boot to login prompt: UEFI iPXE by TFTP ${uefi_ipxe}s and shim+GRUB (Secure Boot) ${shim_grub}s at once;" \
  "signed UKI (Secure Boot) ${uki_boot}s and unregistered UEFI iPXE ${unregistered_boot}s at once"
finish

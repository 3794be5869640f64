#!/usr/bin/env bash
# Secure Boot end to end: one QEMU client with OVMF (Secure Boot on, the
# "snakeoil" key of Debian's ovmf package enrolled in its db) boots the
# demo image from the site's signed unified kernel image over TFTP —
# firmware PXE, no iPXE, the UKI's own host-less command line, goldroot-boot
# finding its MAC from the interface DHCP configured — to the probe and the
# login prompt. Then the same UKI with its signature removed is refused by
# the firmware ("Access Denied"). The site's Secure Boot key is the snakeoil
# pair (goldroot init --secure-boot-key/--secure-boot-cert).
#
# The DHCP/TFTP server is a dnsmasq of this test's own (--dhcp-boot the
# UKI): the lab's uefi=uki setting and serve's TFTP plumbing are not here.
# Prints the UKI's size, its build time, the TFTP download and the time
# from QEMU's start to the login prompt.
source "$(dirname "$0")/lib.sh"
require_root
command -v qemu-system-x86_64 >/dev/null || require "qemu-system-x86"
command -v dnsmasq >/dev/null || require "dnsmasq"
command -v debootstrap >/dev/null || require "debootstrap"
command -v sbattach >/dev/null || require "sbattach (sbsigntool)"
snakeoil=/usr/share/ovmf/PkKek-1-snakeoil
for file in /usr/share/OVMF/OVMF_CODE_4M.secboot.fd /usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd \
  "$snakeoil.key" "$snakeoil.pem"; do
  [ -r "$file" ] || require "$file (package ovmf)"
done
[ -r /usr/lib/systemd/boot/efi/linuxx64.efi.stub ] || require "systemd's EFI stub (package systemd-boot-efi)"

cache=${GOLDROOT_CACHE:-/var/cache/goldroot}
"$SOURCE_DIR/scripts/build-rootfs.sh" "$cache/demo-rootfs" linux-image-amd64 systemd systemd-sysv \
  || fail "building the image with debootstrap"
goldroot=$GOLDROOT
LAB_NS=goldroot-uki-$$
source "$SOURCE_DIR/scripts/lib/lab.sh"
mac=52:54:00:77:00:21

# The snakeoil key is encrypted (password "snakeoil"); goldroot signs unattended.
openssl pkey -in "$snakeoil.key" -passin pass:snakeoil -out "$WORK/snakeoil.key"
gr init --secure-boot-key "$WORK/snakeoil.key" --secure-boot-cert "$snakeoil.pem" >/dev/null
gr image import "$cache/demo-rootfs" --name lab -m "bookworm with kernel and systemd" >/dev/null
gr image export lab >/dev/null
gr channel set gold lab >/dev/null
gr network add 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1 >/dev/null
gr lab add uki --network 10.77.0.0/24 --enroll port >/dev/null
gr host add pc21 --mac $mac --ip 10.77.0.21 --lab uki >/dev/null
lab_probe_layer poweroff

tools=$WORK/tools
mkdir "$tools"
ln -s "$GOLDROOT_BOOT" "$GOLDROOT_AGENT" "$tools/"
start=$(date +%s%N)
uki=$(gr image uki lab --server "http://$LAB_SERVER_IP:$LAB_PORT" --kernel-args console=ttyS0 --tools-dir "$tools")
build_ms=$((($(date +%s%N) - start) / 1000000))
sbverify --cert "$snakeoil.pem" "$uki" >/dev/null 2>&1 || fail "the UKI is not signed with the snakeoil key"
start=$(date +%s%N)
gr image uki lab --mode reset --server "http://$LAB_SERVER_IP:$LAB_PORT" --kernel-args console=ttyS0 \
  --tools-dir "$tools" >/dev/null 2>&1 || fail "image uki --mode reset"
reset_ms=$((($(date +%s%N) - start) / 1000000))
ok "image uki: $(stat -c %s "$uki") bytes, built in ${build_ms} ms (another mode, the goldroot initrd already built: ${reset_ms} ms)"

chmod 0755 "$WORK"
tftp=$WORK/tftp
mkdir "$tftp"
cp "$uki" "$tftp/signed.efi"
cp "$uki" "$tftp/unsigned.efi"
sbattach --remove "$tftp/unsigned.efi" 2>/dev/null
! sbverify --cert "$snakeoil.pem" "$tftp/unsigned.efi" >/dev/null 2>&1 || fail "sbattach left the signature"
chmod -R a+rX "$tftp"
lab_up "$WORK/lab"
on_exit lab_down
logs=${GOLDROOT_LAB_LOGS:-/tmp/goldroot-uki-logs}
on_exit "rm -rf $logs; mkdir -p $logs; cp $WORK/lab/*.log $logs/ 2>/dev/null"

ip netns exec "$LAB_NS" "$goldroot" serve --listen "$LAB_SERVER_IP:$LAB_PORT" --dhcp off \
  --kernel-args console=ttyS0 --tools-dir "$tools" >"$LAB_DIR/serve.log" 2>&1 &
serve_pid=$!
on_exit "kill $serve_pid 2>/dev/null; wait $serve_pid 2>/dev/null"
for _ in $(seq 1 100); do
  ip netns exec "$LAB_NS" curl -s -o /dev/null "http://$LAB_SERVER_IP:$LAB_PORT/" && break
  sleep 0.2
done

# dnsmasq: DHCP for the client, its boot file (BOOTFILE) by TFTP.
dnsmasq_pid=
start_dnsmasq() {
  [ -z "$dnsmasq_pid" ] || { kill "$dnsmasq_pid"; wait "$dnsmasq_pid" 2>/dev/null || true; }
  ip netns exec "$LAB_NS" dnsmasq --keep-in-foreground --port=0 --interface="$LAB_BRIDGE" \
    --bind-interfaces --dhcp-range=10.77.0.100,10.77.0.150,1h --dhcp-host="$mac,10.77.0.21" \
    --dhcp-boot="$1" --enable-tftp --tftp-root="$tftp" --log-dhcp --log-facility="$LAB_DIR/dnsmasq.log" \
    --pid-file="$WORK/dnsmasq.pid" --dhcp-leasefile="$WORK/dnsmasq.leases" &
  dnsmasq_pid=$!
  sleep 1
  kill -0 "$dnsmasq_pid" || fail "dnsmasq did not start: $(tail -3 "$LAB_DIR/dnsmasq.log")"
}
on_exit '[ -z "$dnsmasq_pid" ] || kill $dnsmasq_pid 2>/dev/null'

# One client: OVMF's Secure Boot code with the snakeoil vars, virtio-net
# without an option ROM (the firmware's own PXE); 2 GiB, as it holds the
# UKI, the unpacked initramfs and (diskless) the image.
uefi_boot() { LAB_FIRMWARE=secureboot-snakeoil LAB_MEMORY=2048 lab_boot "$1" "$mac"; }

start_dnsmasq signed.efi
uefi_boot signed
# The login prompt, not "PROBE done": the serial getty's hangup of ttyS0
# can cut the probe's last lines when both start at once.
lab_wait signed 'login:' 900 || fail "the signed UKI did not boot to the login prompt (console: $LAB_DIR/signed.log)"
login=$(lab_seconds_to signed 'login:' | xargs printf %.0f)
probe() { tr -d '\r' <"$LAB_DIR/signed.log" | grep -aoE "PROBE $1=[^[:space:]]*" | tail -1 | cut -d= -f2-; }
[ "$(probe fstype)" = overlay ] || fail "the root is $(probe fstype), not an overlay"
[ "$(probe hostname)" = pc21 ] || fail "the hostname is $(probe hostname)"
grep -aq "goldroot-boot: booting as $mac" "$LAB_DIR/signed.log" ||
  fail "goldroot-boot did not find its MAC on the interface: $(grep -a goldroot "$LAB_DIR/signed.log" | tail -3)"
grep -aq "secureboot: Secure boot enabled" "$LAB_DIR/signed.log" || fail "the kernel did not see Secure Boot on"
grep -aq "Kernel is locked down from EFI Secure Boot" "$LAB_DIR/signed.log" || fail "the kernel is not locked down"
[ -z "$(probe secureboot)" ] || [ "$(probe secureboot)" = 1 ] || fail "the firmware reports Secure Boot $(probe secureboot)"
[ -z "$(probe module)" ] || [ "$(probe module)" = loaded ] || fail "an image module did not load under lockdown"
ok "OVMF with Secure Boot boots the signed UKI over TFTP to the probe and login in ${login}s (pc21, overlay root, MAC from DHCP)"
lab_stopped signed 120 || true

start_dnsmasq unsigned.efi
uefi_boot unsigned
lab_wait unsigned 'Access Denied' 300 || fail "the firmware did not refuse the unsigned UKI"
! grep -aq "Linux version" "$LAB_DIR/unsigned.log" || fail "the unsigned UKI's kernel ran"
lab_kill unsigned
ok "the same UKI without its signature is refused by the firmware (Access Denied)"

# dnsmasq logs each TFTP transfer when it ends: OVMF first asks for the
# size (an aborted transfer), then downloads; the last DHCPACK before it is
# the firmware's.
clock() { date -d "$(cut -c1-15 <<<"$1")" +%s; }
ack=$(grep -a "DHCPACK" "$LAB_DIR/dnsmasq.log" | head -1)
sent=$(grep -a "sent .*/signed.efi" "$LAB_DIR/dnsmasq.log" | sed -n 2p)
[ -z "$sent" ] || echo "# firmware DHCPACK to the UKI downloaded by TFTP: $(($(clock "$sent") - $(clock "$ack")))s"
echo "# UKI $(stat -c %s "$uki") bytes; image uki ${build_ms} ms (${reset_ms} ms for another mode); QEMU start to login ${login}s (TCG)"
finish

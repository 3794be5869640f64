#!/usr/bin/env bash
# Secure Boot through Debian's signed shim and GRUB, end to end across
# network namespaces with a real dnsmasq: a UEFI PXE client (client-arch 7)
# whose lab is set to uefi=shim is told to load shimx64.efi, one in an iPXE
# lab ipxe.efi, an unregistered one what the site says; over TFTP the client
# gets shim, GRUB, grub/grub.cfg, its MAC's menu and the kernel and initrds
# that menu names, byte for byte; moving the channel rewrites the menu while
# the server runs.
source "$(dirname "$0")/lib.sh"
require_root
for tool in dnsmasq udhcpc ip curl mkfs.erofs; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || require "$tool"
done
for file in /usr/lib/shim/shimx64.efi.signed /usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed; do
  [ -f "$file" ] || require "$file (packages shim-signed, grub-efi-amd64-signed)"
done
curl --version | grep -qw tftp || require "curl with tftp"

tag=gs$$
server_ns=${tag}s client_ns=${tag}c
ip netns add "$server_ns"; ip netns add "$client_ns"
on_exit "ip netns del $server_ns; ip netns del $client_ns"
ip link add "${tag}a" type veth peer name "${tag}b"
ip link set "${tag}a" netns "$server_ns"; ip link set "${tag}b" netns "$client_ns"
in_server() { ip netns exec "$server_ns" "$@"; }
in_client() { ip netns exec "$client_ns" "$@"; }
in_server ip addr add 10.78.0.1/24 dev "${tag}a"
in_server ip link set "${tag}a" up; in_server ip link set lo up
in_client ip link set "${tag}b" up; in_client ip link set lo up
in_client ip addr add 10.78.0.200/24 dev "${tag}b"
shim_mac=52:54:00:78:00:01 ipxe_mac=52:54:00:78:00:02 unknown_mac=52:54:00:78:00:99

gr init >/dev/null
chmod 0755 "$WORK"
for version in 1 2; do
  mkdir -p "$WORK/src$version/boot"
  head -c 100000 /dev/urandom > "$WORK/src$version/boot/vmlinuz-6.1.0-28-amd64"
  head -c 100000 /dev/urandom > "$WORK/src$version/boot/initrd.img-6.1.0-28-amd64"
  gr image import "$WORK/src$version" --name "lab$version" >/dev/null
  gr image export "lab$version" >/dev/null
done
gr channel set gold lab1 >/dev/null
gr network add 10.78.0.0/24 --gateway 10.78.0.1 >/dev/null
gr lab add secure --network 10.78.0.0/24 --uefi shim >/dev/null
gr lab add plain --network 10.78.0.0/24 >/dev/null
gr host add pc01 --mac "$shim_mac" --ip 10.78.0.50 --lab secure >/dev/null
gr host add pc02 --mac "$ipxe_mac" --ip 10.78.0.51 --lab plain >/dev/null
gr lab list | grep -E "^secure .* shim " >/dev/null || { gr lab list; fail "lab list does not show uefi=shim"; }
gr lab list | grep -E "^plain .* ipxe\* " >/dev/null || { gr lab list; fail "lab list does not show the inherited ipxe"; }
[ "$(gr lab list --json | grep -c '"effective_uefi"')" = 2 ] || fail "lab list --json has no effective_uefi"
ok "labs carry uefi=shim, shown with the site's default inherited"

# Not through in_server: $! must be goldroot's own pid, for the kill below.
ip netns exec "$server_ns" "$GOLDROOT" serve --listen 10.78.0.1:8080 --dhcp full --interface "${tag}a" \
  --dhcp-range 10.78.0.100-10.78.0.150 --kernel-args "console=ttyS0" > "$WORK/serve.log" 2>&1 &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
for _ in $(seq 1 100); do
  in_server curl -s -o /dev/null http://10.78.0.1:8080/api/v1/hosts && grep -q dnsmasq "$WORK/serve.log" && break
  sleep 0.2
done
grep -q dnsmasq "$WORK/serve.log" || { cat "$WORK/serve.log"; fail "serve did not start"; }

cat > "$WORK/lease.sh" <<'SH'
#!/bin/sh
[ "$1" = bound ] && env > "$LEASE_OUT"
exit 0
SH
chmod +x "$WORK/lease.sh"
uefi_boot_file() {  # the boot file a UEFI PXE ROM (arch 7, no iPXE user class) from MAC $1 gets
  in_client ip link set "${tag}b" down
  in_client ip link set "${tag}b" address "$1"
  in_client ip link set "${tag}b" up
  rm -f "$WORK/lease.env"
  LEASE_OUT="$WORK/lease.env" in_client udhcpc -f -q -n -t 4 -T 1 -i "${tag}b" -s "$WORK/lease.sh" \
    -V PXEClient:Arch:00007:UNDI:003016 -x 0x5d:0007 >/dev/null 2>&1 || true
  [ -f "$WORK/lease.env" ] || { cat "$WORK/serve.log"; fail "no DHCP lease for $1"; }
  sed -n 's/^boot_file=//p' "$WORK/lease.env"
}
[ "$(uefi_boot_file $shim_mac)" = shimx64.efi ] || fail "the shim lab's host got $(uefi_boot_file $shim_mac)"
[ "$(uefi_boot_file $ipxe_mac)" = ipxe.efi ] || fail "the iPXE lab's host got $(uefi_boot_file $ipxe_mac)"
[ "$(uefi_boot_file $unknown_mac)" = ipxe.efi ] || fail "an unknown MAC got $(uefi_boot_file $unknown_mac)"
ok "UEFI clients get shimx64.efi in a uefi=shim lab, ipxe.efi in another and unregistered"

tftp() { in_client curl -sf --connect-timeout 5 "tftp://10.78.0.1/$1"; }
tftp shimx64.efi | cmp -s - /usr/lib/shim/shimx64.efi.signed || fail "shimx64.efi bytes"
tftp grubx64.efi | cmp -s - /usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed || fail "grubx64.efi bytes"
tftp mmx64.efi | cmp -s - /usr/lib/shim/mmx64.efi.signed || fail "mmx64.efi bytes"
tftp grub/grub.cfg | grep -qF 'configfile "$prefix/hosts/${net_default_mac}.cfg"' || fail "grub/grub.cfg"
ok "TFTP serves Debian's signed shim, GRUB and MokManager and grub/grub.cfg"

menu=$(tftp "grub/hosts/$shim_mac.cfg") || { ls -lR "$GOLDROOT_SITE/dnsmasq/tftp"; cat "$WORK/serve.log"; fail "no GRUB menu for $shim_mac"; }
echo "$menu" > "$WORK/menu1.cfg"
echo "$menu" | grep -q "'goldroot.host=pc01'" || fail "menu: host identity"
echo "$menu" | grep -q "'goldroot.manifest=http://10.78.0.1:8080/api/v1/boot/$shim_mac'" || fail "menu: manifest"
echo "$menu" | grep -q "'BOOTIF=01-52-54-00-78-00-01' 'ip=dhcp' 'console=ttyS0'" || fail "menu: command line tail"
echo "$menu" | grep -qx "set default='normal'" || fail "menu: default"
kernel_path() { sed -n "s/^  linux '\([^']*\)'.*/\1/p" "$1" | head -1; }
initrd_paths() { sed -n "s/^  initrd '\([^']*\)' '\([^']*\)'.*/\1 \2/p" "$1" | head -1; }
kernel=$(kernel_path "$WORK/menu1.cfg")
read -r image_initrd goldroot_initrd <<< "$(initrd_paths "$WORK/menu1.cfg")"
tftp "${kernel#/}" | cmp -s - "$WORK/src1/boot/vmlinuz-6.1.0-28-amd64" || fail "kernel bytes over TFTP ($kernel)"
tftp "${image_initrd#/}" | cmp -s - "$WORK/src1/boot/initrd.img-6.1.0-28-amd64" || fail "image initrd bytes"
size=$(tftp "${goldroot_initrd#/}" | wc -c)
[ "$size" -gt 1000 ] || fail "goldroot initrd over TFTP: $size bytes"
tftp "${goldroot_initrd#/}" | cmp -s - "$GOLDROOT_SITE/exports/initrd/$(basename "$goldroot_initrd" | sed 's/^goldroot-//')" ||
  fail "goldroot initrd bytes"
[ -L "$GOLDROOT_SITE/dnsmasq/tftp$kernel" ] || fail "the kernel is copied, not linked"
ok "its MAC's GRUB menu over TFTP names the kernel and both initrds, served (as links) byte for byte"

tftp "grub/hosts/$ipxe_mac.cfg" >/dev/null && fail "a host of an iPXE lab has a GRUB menu"
tftp grub/unknown.cfg | grep -q "sleep 30" || fail "unknown.cfg is not the registration loop"
ok "only shim hosts have menus; unregistered MACs get the registration loop"

gr channel set gold lab2 >/dev/null
for _ in $(seq 1 20); do
  sleep 0.5
  tftp "grub/hosts/$shim_mac.cfg" > "$WORK/menu2.cfg" || continue
  [ "$(kernel_path "$WORK/menu2.cfg")" != "$kernel" ] && break
done
kernel2=$(kernel_path "$WORK/menu2.cfg")
[ "$kernel2" != "$kernel" ] || { cat "$WORK/serve.log"; fail "a channel move did not reach the GRUB menu"; }
tftp "${kernel2#/}" | cmp -s - "$WORK/src2/boot/vmlinuz-6.1.0-28-amd64" || fail "new kernel bytes"
tftp "${kernel#/}" >/dev/null && fail "the old kernel is still in the TFTP root"
ok "moving the channel rewrites the menu within seconds and drops the old kernel"

gr host set pc01 mode=reset >/dev/null
for _ in $(seq 1 20); do
  sleep 0.5
  tftp "grub/hosts/$shim_mac.cfg" | grep -qx "set default='reset'" && break
done
tftp "grub/hosts/$shim_mac.cfg" | grep -qx "set default='reset'" || fail "a mode change did not reach the menu"
gr host rm pc01 >/dev/null 2>&1 || gr host rm pc01 --yes >/dev/null
for _ in $(seq 1 20); do sleep 0.5; tftp "grub/hosts/$shim_mac.cfg" >/dev/null || break; done
tftp "grub/hosts/$shim_mac.cfg" >/dev/null && fail "a removed host keeps its menu"
ok "inventory changes rewrite the menu; a removed host's menu goes"

gr site set uefi=shim >/dev/null
wait_boot_file() {  # MAC FILE: until MAC's UEFI ROM is told to load FILE (10 s)
  for _ in $(seq 1 20); do
    [ "$(uefi_boot_file "$1")" = "$2" ] && return 0
    sleep 0.5
  done
  cat "$GOLDROOT_SITE/dnsmasq/hosts"; return 1
}
wait_boot_file $unknown_mac shimx64.efi || fail "site uefi=shim did not reach unknown MACs"
wait_boot_file $ipxe_mac shimx64.efi || fail "a host of a lab without a setting did not follow the site's"
gr lab set plain uefi=ipxe >/dev/null
wait_boot_file $ipxe_mac ipxe.efi || fail "lab set uefi=ipxe did not win over the site's shim"
[ "$(uefi_boot_file $unknown_mac)" = shimx64.efi ] || fail "unknown MACs lost the site's shim"
ok "site uefi=shim reaches unregistered MACs and labs without a setting, not a lab set to ipxe"
finish

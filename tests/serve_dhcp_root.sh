#!/usr/bin/env bash
# `goldroot serve --dhcp full` end to end across network namespaces: a client
# with a registered MAC gets its fixed IP and the iPXE chainload URL from the
# supervised dnsmasq, fetches its iPXE menu over HTTP, and a change in the
# inventory reaches DHCP without a restart. Stopping the server stops dnsmasq.
source "$(dirname "$0")/lib.sh"
require_root
for tool in dnsmasq udhcpc ip curl mkfs.erofs; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || require "$tool"
done

tag=gr$$
server_ns=${tag}s client_ns=${tag}c
ip netns add "$server_ns"; ip netns add "$client_ns"
on_exit "ip netns del $server_ns; ip netns del $client_ns"
ip link add "${tag}a" type veth peer name "${tag}b"
ip link set "${tag}a" netns "$server_ns"; ip link set "${tag}b" netns "$client_ns"
in_server() { ip netns exec "$server_ns" "$@"; }
in_client() { ip netns exec "$client_ns" "$@"; }
in_server ip addr add 10.77.0.1/24 dev "${tag}a"
in_server ip link set "${tag}a" up; in_server ip link set lo up
mac=52:54:00:77:00:01
in_client ip link set "${tag}b" address "$mac"; in_client ip link set "${tag}b" up; in_client ip link set lo up
# udhcpc here only records its lease; HTTP goes over a static address.
in_client ip addr add 10.77.0.200/24 dev "${tag}b"

gr init >/dev/null
mkdir -p "$WORK/src/boot"
head -c 100000 /dev/urandom > "$WORK/src/boot/vmlinuz-6.1.0-28-amd64"
head -c 100000 /dev/urandom > "$WORK/src/boot/initrd.img-6.1.0-28-amd64"
gr image import "$WORK/src" --name lab >/dev/null
gr image export lab >/dev/null
gr channel set gold lab >/dev/null
gr network add 10.77.0.0/24 --gateway 10.77.0.1 --dns 10.77.0.1 >/dev/null
gr lab add lab7 --network 10.77.0.0/24 --mode reset >/dev/null
gr host add pc01 --mac "$mac" --ip 10.77.0.50 --lab lab7 >/dev/null

# mktemp made $WORK 0700: dnsmasq, once it dropped root, could not reach it.
chmod 0700 "$WORK"
expect_fail "serve --dhcp on a site dnsmasq cannot reach once it dropped root" \
  ip netns exec "$server_ns" "$GOLDROOT" serve --listen 10.77.0.1:8080 --dhcp full --interface "${tag}a"
case "$LAST_ERROR" in *"chmod o+x $WORK"*) ;; *) fail "the error does not name $WORK: $LAST_ERROR" ;; esac
chmod 0755 "$WORK"

ip netns exec "$server_ns" "$GOLDROOT" serve --listen 10.77.0.1:8080 --dhcp full --interface "${tag}a" \
  > "$WORK/serve.log" 2>&1 &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
for _ in $(seq 1 50); do
  in_server curl -s -o /dev/null http://10.77.0.1:8080/api/v1/hosts && grep -q dnsmasq "$WORK/serve.log" && break
  sleep 0.2
done

cat > "$WORK/lease.sh" <<'SH'
#!/bin/sh
[ "$1" = bound ] && env > "$LEASE_OUT"
exit 0
SH
chmod +x "$WORK/lease.sh"
dhcp() {  # an iPXE client (user class "iPXE", BIOS arch 0)
  rm -f "$WORK/lease.env"
  LEASE_OUT="$WORK/lease.env" in_client udhcpc -f -q -n -t 4 -T 1 -i "${tag}b" -s "$WORK/lease.sh" \
    -V PXEClient:Arch:00000:UNDI:002001 -x 0x5d:0000 -x 0x4d:69505845 >/dev/null 2>&1 || true
  [ -f "$WORK/lease.env" ] || { cat "$WORK/serve.log"; fail "no DHCP lease"; }
}
dhcp
grep -qx "ip=10.77.0.50" "$WORK/lease.env" || fail "fixed IP: $(grep ^ip= "$WORK/lease.env")"
grep -q '^boot_file=http://10.77.0.1:8080/boot/${netX/mac}.ipxe' "$WORK/lease.env" ||
  fail "boot file: $(grep ^boot_file "$WORK/lease.env")"
ok "a registered MAC gets its fixed IP and the iPXE chainload URL"

script=$(in_client curl -s "http://10.77.0.1:8080/boot/$mac.ipxe") || fail "iPXE script"; echo "$script" > "$WORK/script.ipxe"
echo "$script" | head -1 | grep -qx "#!ipxe" || { echo "$script"; fail "not an iPXE script"; }
echo "$script" | grep -q "goldroot.host=pc01" || fail "host identity missing"
echo "$script" | grep -q -- "--default reset" || fail "the lab's mode is not the menu default"
echo "$script" | grep -q "http://10.77.0.1:8080/objects/" || fail "kernel URL"
kernel=$(echo "$script" | grep -o 'http://10.77.0.1:8080/objects/[0-9a-f]*' | head -1)
in_client curl -sf "$kernel" | cmp -s - "$WORK/src/boot/vmlinuz-6.1.0-28-amd64" || fail "kernel bytes"
ok "the client fetches its iPXE menu (its lab's mode as default) and the kernel it names"

unknown=$(in_client curl -sf "http://10.77.0.1:8080/boot/52:54:00:77:00:99.ipxe")
echo "$unknown" | grep -qi "52:54:00:77:00:99" || fail "registration screen does not show the MAC"
ok "an unregistered MAC gets the registration screen"

gr host set pc01 ip=10.77.0.60 >/dev/null
for _ in $(seq 1 10); do
  sleep 1
  dhcp
  grep -qx "ip=10.77.0.60" "$WORK/lease.env" && break
done
grep -qx "ip=10.77.0.60" "$WORK/lease.env" || { cat "$WORK/serve.log"; cat "$GOLDROOT_SITE/dnsmasq/hosts"; ls -la --time-style=full-iso "$GOLDROOT_SITE"/goldroot.db*; fail "inventory change did not reach DHCP"; }
ok "a changed inventory reaches dnsmasq while the server runs"

pidfile="$GOLDROOT_SITE/dnsmasq/dnsmasq.pid"
dnsmasq_pid=$(cat "$pidfile")
kill -TERM "$server"; wait "$server" 2>/dev/null || true
sleep 0.5
! kill -0 "$dnsmasq_pid" 2>/dev/null || { ps -ef | grep -E "goldroot|dnsmasq" | grep -v grep; tail -5 "$WORK/serve.log"; fail "dnsmasq outlived the server"; }
ok "stopping the server stops dnsmasq"
finish

#!/usr/bin/env bash
# Bad input to the host, lab, network, import and layer commands: each gets
# exit status 1 and one sentence on stderr naming the problem, and leaves the
# inventory (compared as a full SQL dump) and the output directory exactly as
# they were.
set -euo pipefail
: "${GOLDROOT:?set GOLDROOT to the goldroot binary}"
command -v sqlite3 >/dev/null || { echo "SKIP: needs the sqlite3 command (scripts/setup.sh installs it)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOLDROOT_SITE=$work/site
g() { "$GOLDROOT" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
snapshot() {
  sqlite3 "$GOLDROOT_SITE/goldroot.db" .dump
  (cd "$work" && find . -path ./site -prune -o -print | sort)
}
checked=0
# expect_error SUBSTRING COMMAND…
expect_error() {
  local want=$1; shift
  local before; before=$(snapshot)
  local status=0
  "$@" >"$work/.stdout" 2>"$work/.stderr" || status=$?
  [ "$status" = 1 ] || fail "exit $status, not 1, from: $* ($(cat "$work/.stderr"))"
  [ "$(wc -l < "$work/.stderr")" = 1 ] || fail "not one line from: $*: $(cat "$work/.stderr")"
  grep -qF -- "error: " "$work/.stderr" || fail "no 'error:' from $*"
  grep -qF -- "$want" "$work/.stderr" || fail "from: $*
  wanted: $want
  got:    $(cat "$work/.stderr")"
  rm -f "$work/.stdout" "$work/.stderr"
  [ "$(snapshot)" = "$before" ] || fail "something was written by: $*"
  checked=$((checked + 1))
}

g init >/dev/null
g network add 10.1.0.0/24 --gateway 10.1.0.1 >/dev/null
g lab add lab1 --network 10.1.0.0/24 >/dev/null
g host add pc1 --mac 52:54:00:00:00:01 --ip 10.1.0.10 --lab lab1 >/dev/null
g host add pc2 --mac 52:54:00:00:00:02 --ip 10.1.0.11 --lab lab1 >/dev/null

# Malformed MAC, IP, CIDR.
expect_error "'52:54:00:00:01' is not a MAC address" g host add pc3 --mac 52:54:00:00:01
expect_error "'10.1.0.300' is not an IPv4 address" g host add pc3 --mac 52:54:00:00:00:03 --ip 10.1.0.300
expect_error "'10.1.0.0/33' is not an IPv4 network" g network add 10.1.0.0/33
expect_error "'10.2.0.5/24' has host bits set; did you mean 10.2.0.0/24?" g network add 10.2.0.5/24
expect_error "gateway 10.3.0.1 is not inside network 10.2.0.0/24" g network add 10.2.0.0/24 --gateway 10.3.0.1
expect_error "'zz' is not a MAC address" g host set pc1 mac=zz
expect_error "'10.1.0.0/8' has host bits set" g lab set lab1 networks=10.1.0.0/8

# Duplicate MAC or name.
expect_error "MAC 52:54:00:00:00:01 already belongs to host pc1" g host add pc3 --mac 52:54:00:00:00:01
expect_error "a host named pc1 already exists" g host add PC1 --mac 52:54:00:00:00:03
expect_error "IP 10.1.0.10 already belongs to host pc1" g host add pc3 --mac 52:54:00:00:00:03 --ip 10.1.0.10
expect_error "lab lab1 already exists" g lab add lab1
expect_error "network 10.1.0.0/24 already exists" g network add 10.1.0.0/24
# A glob where the second host fails changes neither.
expect_error "IP 10.1.0.12 already belongs to host pc1" g host set 'pc*' ip=10.1.0.12

# Unknown lab or channel.
expect_error "unknown lab lab9" g host add pc3 --mac 52:54:00:00:00:03 --lab lab9
expect_error "unknown lab lab9" g host set pc1 lab=lab9
expect_error "unknown channel 'nightly'; channels are gold, previous, test" g host add pc3 --mac 52:54:00:00:00:03 --channel nightly
expect_error "unknown channel 'nightly'" g lab add lab2 --channel nightly
expect_error "unknown channel 'nightly'" g host set 'pc*' channel=nightly
expect_error "unknown boot mode 'party'" g host set pc1 mode=party
expect_error "unknown network 10.9.0.0/24" g lab add lab2 --network 10.9.0.0/24
expect_error "there is no host pc9" g host set pc9 mode=reset
expect_error "no host matches lab7-*" g host rm 'lab7-*'
expect_error "lab lab1 still has 2 host(s)" g lab rm lab1
expect_error "network 10.1.0.0/24 is used by lab lab1" g network rm 10.1.0.0/24
expect_error "unknown host setting 'colour'" g host set pc1 colour=red

# Imports: unreadable files and bad lines, named; nothing imported.
expect_error "reading $work/missing.conf: No such file or directory" g host import "$work/missing.conf"
mkdir "$work/a-directory"
expect_error "reading $work/a-directory" g host import "$work/a-directory"
printf 'host pc5 {\n  hardware ethernet 52:54:00:00:00:05;\n  fixed-address 10.1.0.15;\n}\nhost pc6 {\n  hardware ethernet 52:54:00:00:00:6;\n}\n' > "$work/bad-mac.conf"
expect_error "$work/bad-mac.conf:6: '52:54:00:00:00:6' is not a MAC address" g host import "$work/bad-mac.conf"
printf 'host pc5 {\n  hardware ethernet 52:54:00:00:00:05;\n' > "$work/unclosed.conf"
expect_error "$work/unclosed.conf:1: host pc5 { is never closed with '}'" g host import "$work/unclosed.conf"
printf 'name,mac,lab\npc5,52:54:00:00:00:05,lab1\npc6,52:54:00:00:00:01,lab1\n' > "$work/dup.csv"
expect_error "$work/dup.csv:3: MAC 52:54:00:00:00:01 already belongs to host pc1" g host import "$work/dup.csv"
printf 'name,mac,lab\npc5,52:54:00:00:00:05,lab7\n' > "$work/lab.csv"
expect_error "$work/lab.csv:2: unknown lab lab7" g host import "$work/lab.csv"
printf 'dhcp-host=52:54:00:00:00:05,pc5,10.1.0.15\ndhcp-host=52:54:00:00:00:06,pc6,10.1.0.999\n' > "$work/dnsmasq.conf"
expect_error "$work/dnsmasq.conf:2: '10.1.0.999' is not an IPv4 address" g host import "$work/dnsmasq.conf"
printf 'hello\n' > "$work/what.txt"
expect_error "cannot tell the format of $work/what.txt; pass --format csv|dnsmasq|dhcpd" g host import "$work/what.txt"

# Layers: template errors and escapes write no output.
L=$GOLDROOT_SITE/layers
mkdir -p "$L/base/etc" "$L/labs/lab1/etc"
echo '{{ hostname }}' > "$L/base/etc/hostname.tmpl"
printf 'ok\nnameserver {{ dns }}\n' > "$L/labs/lab1/etc/resolv.conf.tmpl"
expect_error "labs/lab1/etc/resolv.conf.tmpl:2: variable 'dns' is not defined for this host" g layer render pc1 --output "$work/out"
printf 'line\n{{ hostname\n' > "$L/labs/lab1/etc/resolv.conf.tmpl"
expect_error "labs/lab1/etc/resolv.conf.tmpl:2: '{{' is not closed with '}}' on the same line" g layer render pc1 --output "$work/out.tar"
expect_error "labs/lab1/etc/resolv.conf.tmpl:2: '{{' is not closed" g layer render --all --output "$work/all"
expect_error "labs/lab1/etc/resolv.conf.tmpl:2: '{{' is not closed" g layer diff pc1 pc2
rm "$L/labs/lab1/etc/resolv.conf.tmpl"
expect_error "path 'etc/../../shadow' contains '..'" g layer blame pc1 etc/../../shadow
ln -s ../../../../../etc/shadow "$L/labs/lab1/etc/shadow"
expect_error "etc/shadow is a symlink to ../../../../../etc/shadow, which escapes the layer through '..'" g layer render pc1 --output "$work/out"
rm "$L/labs/lab1/etc/shadow"
ln -s /etc/shadow "$L/labs/lab1/etc/motd.tmpl"
expect_error "etc/motd.tmpl is not a regular file" g layer render pc1 --output "$work/out"
rm "$L/labs/lab1/etc/motd.tmpl"
mkdir -p "$L/hosts" "$work/elsewhere"
ln -s "$work/elsewhere" "$L/hosts/pc1"
expect_error "layer hosts/pc1 is a symlink that leads outside" g layer render pc1 --output "$work/out"
rm "$L/hosts/pc1"
g layer render pc1 --output "$work/out" >/dev/null
expect_error "already exists; remove it or pass --force" g layer render pc1 --output "$work/out"
expect_error "give either HOST or --all" g layer render --output "$work/out2"

echo "bad input: $checked cases ok"

#!/usr/bin/env bash
# Integration: a fleet of 200 hosts in 4 labs on 2 networks, imported from a
# generated ISC dhcpd.conf, with base/network/lab/host/IP layers. Renders
# every host and checks each host's files, blame and diff, as an admin would
# see them. Needs root for whiteouts and owners in directory renders.
set -euo pipefail
: "${GOLDROOT:?set GOLDROOT to the goldroot binary}"
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: rendering whiteouts into a directory needs root"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOLDROOT_SITE=$work/site
g() { "$GOLDROOT" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

g init >/dev/null
g network add 10.1.0.0/24 --gateway 10.1.0.1 --dns 10.1.0.2 --domain north.example.edu >/dev/null
g network add 10.2.0.0/23 --gateway 10.2.0.1 --dns 10.2.0.2,10.2.0.3 --domain south.example.edu >/dev/null
g lab add lab1 --network 10.1.0.0/24 >/dev/null
g lab add lab2 --network 10.1.0.0/24 --mode reset >/dev/null
g lab add lab3 --network 10.2.0.0/23 >/dev/null
g lab add lab4 --network 10.2.0.0/23 --channel test >/dev/null

# 50 hosts per lab; labs 1-2 on 10.1.0.0/24, labs 3-4 on 10.2.0.0/23 (which
# spans 10.2.0.x and 10.2.1.x). Every 10th host has a second NIC, declared
# dhcpd-style as its own block with option host-name.
ip_of() {  # lab index
  local lab=$1 index=$2
  case $lab in
    1) echo "10.1.0.$((10 + index))" ;;
    2) echo "10.1.0.$((100 + index))" ;;
    3) echo "10.2.0.$((10 + index))" ;;
    4) echo "10.2.1.$((10 + index))" ;;
  esac
}
{
  echo '# generated: the old lab server'
  echo 'option domain-name "example.edu";'
  echo 'default-lease-time 600;'
  for net in "10.1.0.0 netmask 255.255.255.0" "10.2.0.0 netmask 255.255.254.0"; do
    echo "subnet $net {"
    echo '  option routers 10.9.9.9;'
    for lab in 1 2 3 4; do
      if { [ "$net" = "10.1.0.0 netmask 255.255.255.0" ] && [ $lab -gt 2 ]; } ||
         { [ "$net" != "10.1.0.0 netmask 255.255.255.0" ] && [ $lab -le 2 ]; }; then continue; fi
      echo "  group {  # lab$lab"
      for index in $(seq 1 50); do
        name=$(printf 'lab%d-pc%02d' "$lab" "$index")
        printf '    host %s {\n      hardware ethernet 52:54:00:%02x:00:%02x;\n      fixed-address %s;\n    }\n' \
          "$name" "$lab" "$index" "$(ip_of $lab $index)"
        if (( index % 10 == 0 )); then
          printf '    host %s-wifi { hardware ethernet 52:54:01:%02x:00:%02x; option host-name "%s"; }\n' \
            "$name" "$lab" "$index" "$name"
        fi
      done
      echo "  }"
    done
    echo "}"
  done
} > "$work/dhcpd.conf"

rules=(--lab 'lab1=lab1-*' --lab 'lab2=lab2-*' --lab 'lab3=lab3-*' --lab 'lab4=lab4-*')
dry=$(g host import "$work/dhcpd.conf" "${rules[@]}" --dry-run)
echo "$dry" | tail -1 | grep -qx 'dry run, nothing written: 200 added, 0 updated, 0 unchanged' ||
  fail "dry run summary: $(echo "$dry" | tail -1)"
[ "$(g host list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 0 ] ||
  fail "the dry run wrote hosts"
g host import "$work/dhcpd.conf" "${rules[@]}" | tail -1 | grep -qx '200 added, 0 updated, 0 unchanged' ||
  fail "import"
g host import "$work/dhcpd.conf" "${rules[@]}" | tail -1 | grep -qx '0 added, 0 updated, 200 unchanged' ||
  fail "re-import should change nothing"

g host list --json > "$work/hosts.json"
python3 - "$work/hosts.json" <<'PY'
import json, sys
hosts = json.load(open(sys.argv[1]))
assert len(hosts) == 200, len(hosts)
labs = {}
for h in hosts:
    labs[h["lab"]] = labs.get(h["lab"], 0) + 1
    lab = int(h["lab"][3])
    assert h["name"].startswith(h["lab"] + "-"), h
    index = int(h["name"][-2:])
    assert len(h["macs"]) == (2 if index % 10 == 0 else 1), h
    assert h["macs"][0] == "52:54:00:%02x:00:%02x" % (lab, index), h
    want_mode = "reset" if lab == 2 else "normal"
    assert h["effective_mode"]["mode"] == want_mode, h
    want_channel = "test" if lab == 4 else "gold"
    assert h["effective_channel"]["channel"] == want_channel, h
assert labs == {"lab1": 50, "lab2": 50, "lab3": 50, "lab4": 50}, labs
PY

# Host settings win over the lab's.
g host set 'lab2-pc0*' mode=maintenance var.room=B12 >/dev/null
g host show lab2-pc05 --json | python3 -c '
import json, sys; h = json.load(sys.stdin)
assert h["effective_mode"] == {"mode": "maintenance", "from": "host"}, h
assert h["vars"] == {"room": "B12"}, h
assert h["layers"] == [], h'
g host show lab2-pc15 --json | python3 -c '
import json, sys; h = json.load(sys.stdin)
assert h["effective_mode"] == {"mode": "reset", "from": "lab"}, h'

# Layers.
L=$GOLDROOT_SITE/layers
mkdir -p "$L/base/etc" "$L/networks/10.1.0.0_24/etc" "$L/networks/10.2.0.0_23/etc" \
  "$L/hosts/lab2-pc07/etc" "$L/ips/10.2.1.50/etc"
echo '{{ hostname }}' > "$L/base/etc/hostname.tmpl"
printf '127.0.0.1 localhost\n{{ ip }} {{ fqdn }} {{ hostname }}\n' > "$L/base/etc/hosts.tmpl"
echo 'Debian GNU/Linux' > "$L/base/etc/issue"
printf 'secret\n' > "$L/base/etc/lab-token"; chmod 600 "$L/base/etc/lab-token"; chown 0:42 "$L/base/etc/lab-token"
printf 'search {{ domain }}\nnameserver {{ dns }}\n' > "$L/networks/10.1.0.0_24/etc/resolv.conf.tmpl"
printf 'search {{ domain }}\n# south: {{ network }} via {{ gateway }}\nnameserver {{ dns }}\n' \
  > "$L/networks/10.2.0.0_23/etc/resolv.conf.tmpl"
for lab in 1 2 3 4; do
  mkdir -p "$L/labs/lab$lab/etc"
  echo "Welcome to lab$lab" > "$L/labs/lab$lab/etc/motd"
done
touch "$L/labs/lab3/etc/issue.goldroot-delete"
echo 'Welcome to {{ hostname }} in room {{ var.room }}' > "$L/hosts/lab2-pc07/etc/motd.tmpl"
echo 'the one with the projector' > "$L/ips/10.2.1.50/etc/projector"

g layer render --all --output "$work/out" | grep -qx "rendered 200 hosts into $work/out" || fail "render --all"
python3 - "$work/hosts.json" "$work/out" <<'PY'
import json, os, stat, sys
hosts = json.load(open(sys.argv[1])); out = sys.argv[2]
def read(path): return open(path).read()
for h in hosts:
    name, ip, lab = h["name"], h["ip"], int(h["lab"][3])
    root = os.path.join(out, name)
    domain = "north.example.edu" if lab <= 2 else "south.example.edu"
    assert read(f"{root}/etc/hostname") == name + "\n", name
    assert read(f"{root}/etc/hosts") == f"127.0.0.1 localhost\n{ip} {name}.{domain} {name}\n", name
    if lab <= 2:
        assert read(f"{root}/etc/resolv.conf") == "search north.example.edu\nnameserver 10.1.0.2\n"
    else:
        assert read(f"{root}/etc/resolv.conf") == (
            "search south.example.edu\n# south: 10.2.0.0/23 via 10.2.0.1\nnameserver 10.2.0.2 10.2.0.3\n")
    motd = read(f"{root}/etc/motd")
    assert motd == ("Welcome to lab2-pc07 in room B12\n" if name == "lab2-pc07" else f"Welcome to lab{lab}\n"), (name, motd)
    st = os.lstat(f"{root}/etc/issue")
    if lab == 3:
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0, name  # overlayfs whiteout
    else:
        assert stat.S_ISREG(st.st_mode) and read(f"{root}/etc/issue") == "Debian GNU/Linux\n", name
    st = os.lstat(f"{root}/etc/lab-token")
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_gid == 42, name
    assert os.path.exists(f"{root}/etc/projector") == (ip == "10.2.1.50"), name
print("rendered files of 200 hosts: ok")
PY

# Blame for every host: who supplied etc/motd, etc/issue, etc/resolv.conf.
mkdir "$work/blame"
for lab in 1 2 3 4; do
  for index in $(seq -w 1 50); do
    g layer blame "lab$lab-pc$index" --json > "$work/blame/lab$lab-pc$index.json"
  done
done
python3 - "$work/blame" <<'PY'
import json, os, sys
files = sorted(os.listdir(sys.argv[1]))
assert len(files) == 200, len(files)
for file in files:
    name = file[:-5]
    lab = name[3]
    lines = {l["path"]: l for l in json.load(open(os.path.join(sys.argv[1], file)))}
    motd = lines["etc/motd"]
    if name == "lab2-pc07":
        assert (motd["layer"], motd["kind"], motd["overrides"]) == ("hosts/lab2-pc07", "template", ["labs/lab2"]), motd
    else:
        assert (motd["layer"], motd["overrides"]) == (f"labs/lab{lab}", []), motd
    issue = lines["etc/issue"]
    assert (issue["layer"], issue["kind"]) == (("labs/lab3", "deleted") if lab == "3" else ("base", "file")), issue
    net = "networks/10.1.0.0_24" if lab in "12" else "networks/10.2.0.0_23"
    assert lines["etc/resolv.conf"]["layer"] == net, lines["etc/resolv.conf"]
    assert lines["etc/hostname"] == {"path": "etc/hostname", "kind": "template", "layer": "base", "overrides": []}
    assert ("etc/projector" in lines) == (name == "lab4-pc40"), name
PY
echo "blame of 200 hosts: ok"

blame=$(g layer blame lab2-pc07 etc/motd)
[ "$(echo "$blame" | tr -s ' ')" = "etc/motd hosts/lab2-pc07 (template) (overrides labs/lab2)" ] ||
  fail "blame text: $blame"
blame=$(g layer blame lab3-pc01 /etc/issue)
[ "$(echo "$blame" | tr -s ' ')" = "etc/issue deleted by labs/lab3 (overrides base)" ] || fail "blame: $blame"

diff=$(g layer diff lab1-pc01 lab3-pc01)
echo "$diff" | grep -qx '~ etc/issue  type file -> deleted  (base | labs/lab3)' || fail "diff: $diff"
echo "$diff" | grep -qx '~ etc/motd  content  (labs/lab1 | labs/lab3)' || fail "diff: $diff"
echo "$diff" | grep -qx '~ etc/resolv.conf  content  (networks/10.1.0.0_24 | networks/10.2.0.0_23)' ||
  fail "diff: $diff"
g layer diff lab4-pc40 lab4-pc39 | grep -qx -- '- etc/projector  (ips/10.2.1.50)' || fail "diff of the IP layer"

# The single-host renders agree with --all, in every output format:
# same contents, types, modes and owners.
listing() { (cd "$1" && find . -printf '%p %y %m %U:%G %s\n' | sort); }
g layer render lab2-pc07 --output "$work/one" >/dev/null
diff -r "$work/one" "$work/out/lab2-pc07" || fail "single render differs from --all"
g layer render lab3-pc09 --output "$work/one.tar" >/dev/null
mkdir "$work/from-tar" && tar -xpf "$work/one.tar" -C "$work/from-tar"
diff <(listing "$work/out/lab3-pc09") <(listing "$work/from-tar") || fail "tar render differs"
diff -r -x issue "$work/out/lab3-pc09" "$work/from-tar" || fail "tar render differs"
g layer render lab3-pc09 --output "$work/one.erofs" >/dev/null
fsck.erofs --extract="$work/from-erofs" "$work/one.erofs" >/dev/null
diff <(listing "$work/out/lab3-pc09") <(listing "$work/from-erofs") || fail "erofs render differs"
diff -r -x issue "$work/out/lab3-pc09" "$work/from-erofs" || fail "erofs render differs"
[ "$(stat -c '%F %t:%T' "$work/from-erofs/etc/issue")" = "character special file 0:0" ] ||
  fail "erofs lost the whiteout"
echo "fleet of 200: ok"

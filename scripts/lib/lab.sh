# lab.sh: a private lab network with QEMU clients that PXE-boot from
# `goldroot serve`, for the demo and the end-to-end tests. Source it; needs
# root, iproute2 and qemu-system-x86 (software emulation: -accel tcg).
#
#   lab_up DIR                 network namespace + bridge 10.77.0.1/24;
#                              DIR keeps logs, disks and sockets
#   lab_serve [ARGS…]          goldroot serve --dhcp full on the bridge
#   lab_disk NAME SIZE         a raw disk with one GPT partition named
#                              GOLDROOT-DATA (formatted on first boot)
#   lab_boot NAME MAC [DISK]   starts a client; its serial console goes to
#                              DIR/NAME.log, started at DIR/NAME.start.
#                              LAB_FIRMWARE picks the firmware (see below)
#   lab_wait NAME REGEX SECS   waits for REGEX on NAME's console
#   lab_stopped NAME SECS      waits for a client that powers itself off
#   lab_kill NAME              pulls the plug
#   lab_probe_layer [poweroff] the probe in the site's base layer (below)
#   lab_probe_hold HOST on|off HOST stays up after its probe, or not
#   lab_down                   stops everything and removes the namespace
#
# Uses $goldroot (the CLI) and $GOLDROOT_SITE.

LAB_NS=${LAB_NS:-goldroot-lab}
LAB_BRIDGE=grbr0
LAB_SERVER_IP=10.77.0.1
LAB_PORT=8080
LAB_MEMORY=${LAB_MEMORY:-1536}
LAB_DIR=
LAB_SERVE_PID=
declare -A LAB_PIDS=()

lab_up() {
  LAB_DIR=$1
  mkdir -p "$LAB_DIR"
  ip netns del "$LAB_NS" 2>/dev/null || true
  ip netns add "$LAB_NS"
  ip -n "$LAB_NS" link set lo up
  ip -n "$LAB_NS" link add "$LAB_BRIDGE" type bridge
  ip -n "$LAB_NS" addr add "$LAB_SERVER_IP/24" dev "$LAB_BRIDGE"
  ip -n "$LAB_NS" link set "$LAB_BRIDGE" up
}

lab_serve() {
  ip netns exec "$LAB_NS" "$goldroot" serve --listen "$LAB_SERVER_IP:$LAB_PORT" \
    --dhcp full --interface "$LAB_BRIDGE" --kernel-args "console=ttyS0" --menu-timeout 1 "$@" \
    >"$LAB_DIR/serve.log" 2>&1 &
  LAB_SERVE_PID=$!
  for _ in $(seq 1 100); do
    ip netns exec "$LAB_NS" curl -s -o /dev/null "http://$LAB_SERVER_IP:$LAB_PORT/" &&
      grep -q dnsmasq "$LAB_DIR/serve.log" && return 0
    kill -0 "$LAB_SERVE_PID" 2>/dev/null || break
    sleep 0.2
  done
  cat "$LAB_DIR/serve.log" >&2
  return 1
}

lab_disk() {
  local disk="$LAB_DIR/$1.disk"
  truncate -s "$2" "$disk"
  printf 'label: gpt\nsize=+, name="GOLDROOT-DATA"\n' | sfdisk -q "$disk" >/dev/null
  echo "$disk"
}

# LAB_FIRMWARE for lab_boot: bios (default: SeaBIOS and QEMU's iPXE ROM);
# uefi (OVMF, through the firmware's own PXE: the NIC carries no ROM);
# secureboot (OVMF with Secure Boot on and Microsoft's keys enrolled, as lab
# PCs are sold); secureboot-snakeoil (Secure Boot on, only Debian's OVMF
# test key pair enrolled: /usr/share/ovmf/PkKek-1-snakeoil.{key,pem}).
lab_firmware_args() {
  local name=$1 code vars
  case "$2" in
    bios) return 0 ;;
    uefi) code=OVMF_CODE_4M.fd vars=OVMF_VARS_4M.fd ;;
    secureboot) code=OVMF_CODE_4M.secboot.fd vars=OVMF_VARS_4M.ms.fd ;;
    secureboot-snakeoil) code=OVMF_CODE_4M.secboot.fd vars=OVMF_VARS_4M.snakeoil.fd ;;
    *) echo "lab: unknown firmware $2" >&2; return 1 ;;
  esac
  cp "/usr/share/OVMF/$vars" "$LAB_DIR/$name.vars"
  local machine=q35
  [ "$2" = uefi ] || machine=q35,smm=on
  echo "-machine $machine"
  [ "$2" = uefi ] || echo "-global driver=cfi.pflash01,property=secure,value=on"
  echo "-drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/$code"
  echo "-drive if=pflash,format=raw,unit=1,file=$LAB_DIR/$name.vars"
}

lab_boot() {
  local name=$1 mac=$2 disk=${3:-} firmware=${LAB_FIRMWARE:-bios}
  local tap="t-${name:0:13}"  # one per client, kept for its next boot
  if ! ip -n "$LAB_NS" link show "$tap" >/dev/null 2>&1; then
    ip -n "$LAB_NS" tuntap add dev "$tap" mode tap
    ip -n "$LAB_NS" link set "$tap" master "$LAB_BRIDGE" up
  fi
  local drive=() firmware_args=() rom=
  [ -n "$disk" ] && drive=(-drive "file=$disk,if=virtio,format=raw")
  # shellcheck disable=SC2207  # one argument a word, none with blanks
  firmware_args=($(lab_firmware_args "$name" "$firmware")) || return 1
  [ "$firmware" = bios ] || rom=",romfile="
  : >"$LAB_DIR/$name.log"
  date +%s.%N >"$LAB_DIR/$name.start"
  ip netns exec "$LAB_NS" qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m "$LAB_MEMORY" \
    "${firmware_args[@]}" -display none -no-reboot -boot n \
    -netdev "tap,id=net0,ifname=$tap,script=no,downscript=no" \
    -device "virtio-net-pci,netdev=net0,mac=$mac$rom" "${drive[@]}" \
    -serial "file:$LAB_DIR/$name.log" >"$LAB_DIR/$name.qemu.log" 2>&1 &
  LAB_PIDS[$name]=$!
}

# Seconds from QEMU start to the first line matching REGEX (after lab_wait).
lab_seconds_to() {
  local name=$1 regex=$2 start line
  start=$(cat "$LAB_DIR/$name.start")
  line=$(cat "$LAB_DIR/$name.found.$(echo "$regex" | md5sum | cut -c1-8)" 2>/dev/null) || return 1
  echo "$line - $start" | bc
}

lab_wait() {
  local name=$1 regex=$2 seconds=$3 deadline
  deadline=$((SECONDS + seconds))
  while [ $SECONDS -lt $deadline ]; do
    if grep -aqE "$regex" "$LAB_DIR/$name.log"; then
      date +%s.%N >"$LAB_DIR/$name.found.$(echo "$regex" | md5sum | cut -c1-8)"
      return 0
    fi
    if ! kill -0 "${LAB_PIDS[$name]}" 2>/dev/null; then
      echo "lab: $name stopped before its console showed /$regex/" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "lab: $name's console did not show /$regex/ within ${seconds}s; last lines:" >&2
  tail -5 "$LAB_DIR/$name.log" | tr -d '\r' >&2
  return 1
}

lab_stopped() {
  local name=$1 seconds=$2 pid=${LAB_PIDS[$1]}
  for _ in $(seq 1 $((seconds * 2))); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.5
  done
  echo "lab: $name did not power off within ${seconds}s; pulling the plug" >&2
  lab_kill "$name"
  return 1
}

lab_kill() {
  local pid=${LAB_PIDS[$1]}
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

lab_down() {
  local name
  for name in "${!LAB_PIDS[@]}"; do lab_kill "$name"; done
  if [ -n "$LAB_SERVE_PID" ]; then
    kill "$LAB_SERVE_PID" 2>/dev/null || true
    wait "$LAB_SERVE_PID" 2>/dev/null || true
  fi
  ip netns del "$LAB_NS" 2>/dev/null || true
}

# A base layer for lab sites: the hostname from the host's template, and a
# probe that prints what a test asserts on the serial console (PROBE lines)
# at every boot, then keeps a marker file in /etc. With "poweroff", clients
# power off by themselves 10 s after the probe, except hosts whose layer
# deletes etc/goldroot-probe-poweroff (lab_probe_hold): those stay up and
# print a PROBE alive line every 10 s.
# lab_probe_hold HOST on|off: whether HOST stays up after its probe.
lab_probe_hold() {
  local dir=$GOLDROOT_SITE/layers/hosts/$1/etc
  if [ "$2" = on ]; then
    mkdir -p "$dir"
    : >"$dir/goldroot-probe-poweroff.goldroot-delete"
  else
    rm -f "$dir/goldroot-probe-poweroff.goldroot-delete"
  fi
}

# lab_probe NAME KEY: the last value NAME's console printed as "PROBE KEY=...".
lab_probe() {
  tr -d '\r' <"$LAB_DIR/$1.log" | grep -aoE "PROBE $2=[^[:space:]]*" | tail -1 | cut -d= -f2-
}

lab_probe_layer() {
  local base=$GOLDROOT_SITE/layers/base
  if [ "${1:-}" = poweroff ]; then
    mkdir -p "$base/etc"
    : >"$base/etc/goldroot-probe-poweroff"
  fi
  mkdir -p "$base/etc/systemd/system/multi-user.target.wants" "$base/usr/local/sbin"
  echo "{{ hostname }}" >"$base/etc/hostname.tmpl"
  cat >"$base/usr/local/sbin/goldroot-probe" <<'EOF'
#!/bin/sh
# What the goldroot lab tests read on the serial console.
{
  echo "PROBE fstype=$(findmnt -n -o FSTYPE /)"
  echo "PROBE options=$(findmnt -n -o OPTIONS /)"
  echo "PROBE image=$(findmnt -n -o FSTYPE /run/goldroot/image)"
  echo "PROBE hostname=$(cat /proc/sys/kernel/hostname)"
  echo "PROBE marker=$(cat /etc/goldroot-marker 2>/dev/null || echo none)"
  echo "PROBE boot=$(cat /proc/sys/kernel/random/boot_id)"
  # Secure Boot as the firmware reports it (1 on, 0 off, none: no UEFI), the
  # kernel's lockdown, and whether a module of the image still loads.
  sb=/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c
  echo "PROBE secureboot=$([ -e $sb ] && od -An -t u1 -j4 -N1 $sb | tr -d ' ' || echo none)"
  echo "PROBE lockdown=$(grep -o '\[[a-z]*\]' /sys/kernel/security/lockdown 2>/dev/null | tr -d '[]')"
  echo "PROBE module=$(modprobe dummy 2>/dev/null && grep -q '^dummy ' /proc/modules && echo loaded || echo refused)"
  cat /proc/sys/kernel/random/boot_id >/etc/goldroot-marker
  sync
  echo "PROBE done"
} >/dev/ttyS0 2>&1
# Test clients power off on their own once the login prompt had time to
# show (minbase images have no logind to answer the ACPI power button):
# 5 s after the serial getty runs (up to a minute: a loaded machine's
# emulated clients are slow), not a fixed delay after the probe.
if [ -e /etc/goldroot-probe-poweroff ]; then
  systemd-run --no-block --unit goldroot-probe-poweroff /bin/sh -c \
    'for _ in $(seq 1 60); do systemctl is-active -q serial-getty@ttyS0.service && break; sleep 1; done
     sleep 5; systemctl poweroff' >/dev/null 2>&1
else
  # A client that stays up shows it still works: every 10 s it reads a file
  # of its image afresh (page cache dropped) and prints its digest.
  systemd-run --no-block --unit goldroot-probe-alive /bin/sh -c \
    'while :; do echo 3 >/proc/sys/vm/drop_caches;
       echo "PROBE alive=$(cut -d. -f1 /proc/uptime) image=$(sha256sum /usr/bin/dpkg | cut -c1-16)" >/dev/ttyS0;
       sleep 10; done' >/dev/null 2>&1
fi
EOF
  chmod 755 "$base/usr/local/sbin/goldroot-probe"
  cat >"$base/etc/systemd/system/goldroot-probe.service" <<'EOF'
[Unit]
Description=goldroot lab probe
After=local-fs.target
# The serial getty's hangup of ttyS0 would cut the probe's lines.
Before=serial-getty@ttyS0.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/goldroot-probe

[Install]
WantedBy=multi-user.target
EOF
  ln -sf ../goldroot-probe.service "$base/etc/systemd/system/multi-user.target.wants/goldroot-probe.service"
}

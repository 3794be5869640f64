# vm/lib.sh: the vm test tier — a small QEMU guest (software emulation)
# booted straight from the demo image's Debian kernel with a minimal
# initramfs: busybox, the modules a test names (with their dependencies),
# the binaries it needs (with their libraries and loader), its data, and a
# script. What this machine's kernel lacks (NBD, device-mapper) is tested
# there. Source it after tests/lib.sh (it uses $WORK, fail, require).
#
#   vm_setup                   the demo rootfs (scripts/build-rootfs.sh, as
#                              the e2e tests build it), its kernel; a fresh
#                              initramfs staging directory
#   vm_modules NAME…           modules and their dependencies (modules.dep),
#                              insmod'ed in order by /init
#   vm_binary PATH [NAME]      an ELF as /bin/NAME, its libraries and loader
#                              at their own paths (ldd)
#   vm_add SOURCE DEST         a file or directory at DEST in the guest
#   vm_http_serve DIR          a plain HTTP server of DIR on the host's
#                              127.0.0.1 (the guest's 10.0.2.2), port in
#                              $VM_HTTP_PORT, stopped when the test ends
#   vm_run NAME SCRIPT SECS    packs the initramfs with SCRIPT as /test.sh,
#                              boots it and waits for the guest to power off;
#                              the console is kept in $VM_DIR/NAME.log (and
#                              copied to $GOLDROOT_VM_LOGS, /tmp/goldroot-vm-logs,
#                              for whoever reads a failure); fails unless the
#                              script exited 0
#
# In the guest: /bin has busybox's applets; /proc, /sys and devtmpfs are
# mounted; the modules are loaded; with VM_NETWORK=user (the default) eth0
# is 10.0.2.15/24 on QEMU's user network, where 10.0.2.2 is the host's
# loopback (a server the test started on 127.0.0.1 is
# http://10.0.2.2:PORT/). /test.sh runs under `sh -e`; /vm/check.sh's
# `check WHAT CMD…` prints "ok - WHAT" or "FAIL: WHAT" lines that vm_run
# repeats. Networking needs the virtio_net module: vm_setup adds it.
#
# Knobs: VM_MEMORY (MiB, 512), VM_SMP (2), VM_APPEND (more kernel arguments).

VM_ROOTFS=${GOLDROOT_CACHE:-/var/cache/goldroot}/demo-rootfs
VM_MEMORY=${VM_MEMORY:-512}
VM_SMP=${VM_SMP:-2}
VM_NETWORK=${VM_NETWORK:-user}
VM_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

vm_setup() {
  command -v qemu-system-x86_64 >/dev/null || require "qemu-system-x86"
  command -v debootstrap >/dev/null || require "debootstrap"
  [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || require "a static /bin/busybox (busybox-static)"
  "$SOURCE_DIR/scripts/build-rootfs.sh" "$VM_ROOTFS" linux-image-amd64 systemd systemd-sysv \
    || fail "building the demo image with debootstrap"
  VM_KERNEL=$(ls "$VM_ROOTFS"/boot/vmlinuz-* | sort -V | tail -1)
  VM_KVER=${VM_KERNEL##*/vmlinuz-}
  VM_MODULES_DIR=$VM_ROOTFS/lib/modules/$VM_KVER
  VM_DIR=$WORK/vm
  VM_STAGE=$VM_DIR/stage
  local logs=${GOLDROOT_VM_LOGS:-/tmp/goldroot-vm-logs}
  on_exit "mkdir -p $logs; cp $VM_DIR/*.log $logs/ 2>/dev/null"
  rm -rf "$VM_STAGE"
  mkdir -p "$VM_STAGE"/{bin,dev,proc,sys,tmp,run,mnt,lib/modules,vm}
  cp /bin/busybox "$VM_STAGE/bin/busybox"
  cp "$VM_HERE/init" "$VM_STAGE/init"
  cp "$VM_HERE/check.sh" "$VM_HERE/listing.sh" "$VM_STAGE/vm/"
  chmod 755 "$VM_STAGE/init"
  : >"$VM_STAGE/modules.order"
  [ "$VM_NETWORK" = user ] && vm_modules virtio_pci virtio_net
  return 0
}

# The path of module NAME in modules.dep (- and _ are the same to modprobe).
vm_module_path() {
  local pattern=${1//[-_]/[-_]}
  grep -oE "^[^:]*/${pattern}\.ko(\.[a-z]+)?:" "$VM_MODULES_DIR/modules.dep" | head -1 | tr -d :
}

vm_modules() {
  local name path dep deps
  for name in "$@"; do
    path=$(vm_module_path "$name")
    [ -n "$path" ] || fail "vm: no module $name in $VM_MODULES_DIR"
    grep -qxF "${path##*/}" "$VM_STAGE/modules.order" && continue
    # modules.dep lists what a module needs, the last to be loaded first.
    deps=$(grep -E "^$path:" "$VM_MODULES_DIR/modules.dep" | cut -d: -f2)
    # libcrc32c asks the kernel for crc32c, which would load it through a
    # modprobe the initramfs does not have.
    [ "$name" = libcrc32c ] && vm_modules crc32c_generic
    for dep in $(echo "$deps" | tr ' ' '\n' | tac); do
      vm_modules "$(basename "$dep" | sed 's/\.ko.*//')"
    done
    case "$path" in
      *.ko) cp "$VM_MODULES_DIR/$path" "$VM_STAGE/lib/modules/" ;;
      *.ko.xz) xz -dc "$VM_MODULES_DIR/$path" >"$VM_STAGE/lib/modules/$(basename "$path" .xz)" ;;
      *.ko.zst) zstd -qdc "$VM_MODULES_DIR/$path" >"$VM_STAGE/lib/modules/$(basename "$path" .zst)" ;;
      *) fail "vm: cannot unpack $path" ;;
    esac
    path=${path##*/}
    echo "${path%.ko*}.ko" >>"$VM_STAGE/modules.order"
  done
}

vm_binary() {
  local binary=$1 name=${2:-$(basename "$1")} library
  cp "$binary" "$VM_STAGE/bin/$name"
  for library in $(ldd "$binary" | grep -oE '/[^ ]+' | sort -u); do
    mkdir -p "$VM_STAGE$(dirname "$library")"
    cp -L "$library" "$VM_STAGE$library"
  done
}

vm_add() {
  mkdir -p "$(dirname "$VM_STAGE$2")"
  cp -a "$1" "$VM_STAGE$2"
}

vm_http_serve() {
  local port_file=$VM_DIR/http.port
  rm -f "$port_file"
  python3 -c '
import functools, http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
print(server.server_address[1], flush=True)
server.serve_forever()' "$1" >"$port_file" &
  local pid=$!
  on_exit "kill $pid"
  for _ in $(seq 1 100); do
    [ -s "$port_file" ] && { VM_HTTP_PORT=$(cat "$port_file"); return 0; }
    sleep 0.1
  done
  fail "vm: the HTTP server did not start"
}

vm_run() {
  local name=$1 script=$2 seconds=$3 log status start
  log=$VM_DIR/$name.log
  cp "$script" "$VM_STAGE/test.sh"
  (cd "$VM_STAGE" && find . -mindepth 1 | sort | cpio -o -H newc --quiet) >"$VM_DIR/$name.cpio"
  local network=(-nic none)
  [ "$VM_NETWORK" = user ] && network=(-netdev user,id=net0 -device virtio-net-pci,netdev=net0)
  start=$(date +%s.%N)
  timeout "$seconds" qemu-system-x86_64 -accel tcg -cpu max -smp "$VM_SMP" -m "$VM_MEMORY" \
    -kernel "$VM_KERNEL" -initrd "$VM_DIR/$name.cpio" \
    -append "console=ttyS0 loglevel=4 panic=-1 ${VM_APPEND:-}" \
    -display none -no-reboot "${network[@]}" -serial "file:$log" >"$VM_DIR/$name.qemu.log" 2>&1 &&
    status=0 || status=$?
  VM_SECONDS=$(echo "$(date +%s.%N) - $start" | bc)
  tr -d '\r' <"$log" | grep -E '^(ok - |FAIL: )' || true
  [ "$status" = 124 ] && { tail -20 "$log" >&2; fail "vm $name: no power-off within ${seconds}s"; }
  [ "$status" = 0 ] || { cat "$VM_DIR/$name.qemu.log" >&2; fail "vm $name: qemu exited $status"; }
  local exit_line
  exit_line=$(tr -d '\r' <"$log" | grep -aoE '^VM-EXIT [0-9]+' | tail -1)
  [ "$exit_line" = "VM-EXIT 0" ] ||
    { tr -d '\r' <"$log" | tail -40 >&2; fail "vm $name: the guest's script ended with '${exit_line:-nothing}'"; }
  pass_count=$((pass_count + $(tr -d '\r' <"$log" | grep -c '^ok - ' || true)))
}

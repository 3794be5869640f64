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
#   vm_http_serve DIR [PORT]   an HTTP server of DIR (GET, with single
#                              Range requests answered 206, keep-alive) on the
#                              host's 127.0.0.1 (the guest's 10.0.2.2), on
#                              PORT or a free one, in $VM_HTTP_PORT; stopped
#                              when the test ends
#   vm_http_stop               kills it (SIGKILL, as a crash would) and waits
#                              until its port refuses; vm_http_serve DIR
#                              $VM_HTTP_PORT starts it again on the same port
#                              (both work from a background subshell too)
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
# Knobs: VM_MEMORY (MiB, 512), VM_SMP (2), VM_APPEND (more kernel arguments),
# VM_DISK (a raw image file the guest sees as /dev/vda; it needs the
# virtio_blk module).

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
# vm_export TREE: imports TREE into a new site and exports it as
# $WORK/image.erofs with its dm-verity tree ($WORK/image.erofs.verity);
# sets root, salt, data_blocks and tree_size from the export's record.
vm_export() {
  gr init >/dev/null
  gr image import "$1" --name vmtree -m "vm test tree" >/dev/null
  gr image export vmtree --output "$WORK/image.erofs" --json >"$WORK/export.json"
  read -r root salt data_blocks tree_size < <(python3 -c '
import json, sys
v = json.load(sys.stdin)["verity"]
print(v["root_hash"], v["salt"], v["data_blocks"], v["tree_size"])' <"$WORK/export.json")
  [ ${#root} = 64 ] || fail "the export names no root hash"
}

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
  # Started from a subshell, so it is no job of this shell's (a kill prints
  # no "Killed" line) and vm_http_stop can kill it from any shell.
  (python3 -c '
import functools, http.server, os, re, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as goldroot serve and libcurl use it
    # Else (Nagle) the last segment of each answer waits for the delayed
    # ACK of the client: 40 ms a request.
    disable_nagle_algorithm = True
    def log_message(self, *args): pass
    def send_head(self):
        self.range_length = None
        match = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
        if not match: return super().send_head()
        try: body = open(self.translate_path(self.path), "rb")
        except OSError: self.send_error(404); return None
        size = os.fstat(body.fileno()).st_size
        first, last = int(match[1]), min(int(match[2]), size - 1)
        if first > last:
            body.close(); self.send_error(416); return None
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(last - first + 1))
        self.end_headers()
        body.seek(first)
        self.range_length = last - first + 1
        return body
    def copyfile(self, source, destination):
        if self.range_length is None: return super().copyfile(source, destination)
        left = self.range_length
        while left > 0:
            chunk = source.read(min(left, 1 << 16))
            if not chunk: break
            destination.write(chunk)
            left -= len(chunk)
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), functools.partial(Handler, directory=sys.argv[1]))
print(server.server_address[1], flush=True)
server.serve_forever()' "$1" "${2:-0}" >"$port_file" &
    echo $! >"$VM_DIR/http.pid")
  [ -n "${vm_http_cleanup:-}" ] || { on_exit vm_http_stop; vm_http_cleanup=1; }
  for _ in $(seq 1 100); do
    [ -s "$port_file" ] && { VM_HTTP_PORT=$(cat "$port_file"); return 0; }
    sleep 0.1
  done
  fail "vm: the HTTP server did not start"
}

vm_http_stop() {
  [ -s "$VM_DIR/http.pid" ] || return 0
  local port
  port=$(cat "$VM_DIR/http.port")
  kill -KILL "$(cat "$VM_DIR/http.pid")" 2>/dev/null || true
  rm -f "$VM_DIR/http.pid"
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 0
    sleep 0.1
  done
  fail "vm: the HTTP server on port $port does not stop"
}

vm_run() {
  local name=$1 script=$2 seconds=$3 log status start
  log=$VM_DIR/$name.log
  cp "$script" "$VM_STAGE/test.sh"
  (cd "$VM_STAGE" && find . -mindepth 1 | sort | cpio -o -H newc --quiet) >"$VM_DIR/$name.cpio"
  local network=(-nic none)
  [ "$VM_NETWORK" = user ] && network=(-netdev user,id=net0 -device virtio-net-pci,netdev=net0)
  local disk=()
  [ -n "${VM_DISK:-}" ] && disk=(-drive "file=$VM_DISK,format=raw,if=virtio")
  start=$(date +%s.%N)
  timeout "$seconds" qemu-system-x86_64 -accel tcg -cpu max -smp "$VM_SMP" -m "$VM_MEMORY" \
    -kernel "$VM_KERNEL" -initrd "$VM_DIR/$name.cpio" \
    -append "console=ttyS0 loglevel=4 panic=-1 ${VM_APPEND:-}" \
    -display none -no-reboot "${network[@]}" "${disk[@]}" -serial "file:$log" >"$VM_DIR/$name.qemu.log" 2>&1 &&
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

#!/usr/bin/env bash
# Installs everything goldroot needs to build, test and run its demo on a
# fresh Debian 12 machine, then builds it into ./build. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # build
  build-essential cmake ninja-build pkg-config git
  libssl-dev libzstd-dev libsqlite3-dev sqlite3 libpq-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  libarchive-dev liblz4-dev libcurl4-openssl-dev libmount-dev libblkid-dev libdevmapper-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # sanitizer trees (g++'s libtsan/libasan/libubsan) and libFuzzer (clang's)
  clang libclang-rt-14-dev
  # images and filesystems
  erofs-utils squashfs-tools e2fsprogs cryptsetup-bin attr acl rsync zstd xz-utils cpio
  # test rig and benchmark peers
  debootstrap ostree bc curl python3 iproute2 util-linux procps
  nginx-light  # the HTTP bench's peer, and the building cache's test (needs its slice module)
  postgresql  # scripts/with_postgresql.sh: a throw-away cluster for the PostgreSQL inventory tests
  openssl  # tests make host keys and sign as hosts do (`openssl genpkey` and `pkeyutl` with ed25519)
  # network boot: dnsmasq (DHCP/proxy-DHCP + TFTP), Debian's iPXE binaries,
  # and busybox's udhcpc as the DHCP client of the namespace tests
  dnsmasq ipxe udhcpc
  # Secure Boot: Debian's signed shim and network GRUB, served by TFTP to
  # uefi=shim machines
  shim-signed grub-efi-amd64-signed
  # the end-to-end lab: QEMU clients with QEMU's iPXE ROMs, GPT data disks
  qemu-system-x86 ipxe-qemu fdisk
  # the vm tier's initramfs: a static busybox (tests/vm/lib.sh)
  busybox-static
  # UEFI clients: OVMF firmware (with Secure Boot variants and a test key
  # pair), and sbattach to make an unsigned kernel for the rogue-DHCP test
  ovmf sbsigntool
  # signed unified kernel images: systemd's EFI stub, objcopy, sbsign/sbverify
  systemd-boot-efi binutils
  # the dashboard test: headless Chromium, driven by playwright-core from npm
  chromium nodejs
)
# NodeSource's nodejs ships npm itself and conflicts with Debian's npm.
command -v npm >/dev/null || packages+=(npm)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# goldroot serve runs dnsmasq itself; the package's own service would hold
# the DHCP and TFTP ports. Harmless where there is no systemd.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now dnsmasq.service 2>/dev/null || true
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build

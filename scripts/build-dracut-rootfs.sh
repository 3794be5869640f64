#!/usr/bin/env bash
# build-dracut-rootfs.sh SOURCE DEST: DEST is a copy of the tree SOURCE
# (build-rootfs.sh's, with a kernel and systemd) whose initrd is built by
# dracut instead of initramfs-tools: the dracut.conf.d file a goldroot image
# needs, then dracut and dracut-network installed in a chroot (mirror from
# this machine's apt sources; the package builds the initrd), apt's caches
# and lists removed. Reuses DEST if this script built it from the same
# SOURCE build.
set -euo pipefail
source "$(dirname "$0")/lib/mirror.sh"
source_tree=$1 dest=$2
stamp="$dest.stamp"
want="$(sha256sum "$0" | cut -c1-16) from $(cat "$source_tree.stamp") ($(stat -c %Y "$source_tree.stamp"))"
mkdir -p "$(dirname "$dest")"
# Tests running in parallel share the cache: one builds, the others wait.
exec {lock}>"$dest.lock"
flock "$lock"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
rm -rf "$dest" "$stamp"
cp -a "$source_tree" "$dest"
mirror=$(debian_mirror)

mounts=()
unmount_all() {
  local i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
}
trap unmount_all EXIT
for fs in proc sys dev; do
  mount --rbind "/$fs" "$dest/$fs"
  mount --make-rslave "$dest/$fs"
  mounts+=("$dest/$fs")
done

# goldroot's dracut hooks run goldroot-boot once the network is up: the
# image's initrd must carry dracut's network module, with network-legacy
# (ip=dhcp by dhclient) named, since dracut would otherwise pick
# systemd-networkd, which needs a D-Bus daemon this image lacks;
# network-legacy needs pgrep (procps), which minbase lacks.
# hostonly=no: the initrd is built in a chroot for machines it never saw.
mkdir -p "$dest/etc/dracut.conf.d"
cat >"$dest/etc/dracut.conf.d/90-goldroot.conf" <<'EOF'
# goldroot: network-booted lab PCs (see goldroot's README)
hostonly="no"
add_dracutmodules+=" network-legacy network "
EOF
echo "deb $mirror bookworm main" >"$dest/etc/apt/sources.list"
{
  chroot "$dest" apt-get update
  DEBIAN_FRONTEND=noninteractive chroot "$dest" apt-get install -y --no-install-recommends \
    dracut dracut-network procps
} >"$dest.log" 2>&1 || { tail -20 "$dest.log" >&2; exit 1; }
unmount_all
mounts=()
rm -rf "$dest"/var/cache/apt/* "$dest"/var/lib/apt/lists/*
echo "$want" >"$stamp"

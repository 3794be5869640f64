#!/usr/bin/env bash
# The goldroot initrd that `goldroot serve` builds for an image: named by its
# sha256, cached, holding the initramfs-tools script, the dracut hooks,
# goldroot-boot with every library it needs (it runs from the unpacked
# tree), the image's own modules in load order and the site key; and never
# an entry for a directory every initramfs has (the kernel would replace a
# merged-/usr image's lib -> usr/lib symlink with it).
source "$(dirname "$0")/lib.sh"
command -v cpio >/dev/null || require "cpio"

gr init >/dev/null
src="$WORK/src"
mods="$src/usr/lib/modules/6.1.0-9-amd64"
mkdir -p "$src/boot" "$mods/kernel/fs/erofs" "$mods/kernel/lib" "$mods/kernel/fs/overlayfs"
head -c 5000 /dev/urandom >"$src/boot/vmlinuz-6.1.0-9-amd64"
head -c 5000 /dev/urandom >"$src/boot/initrd.img-6.1.0-9-amd64"
echo erofs-module >"$mods/kernel/fs/erofs/erofs.ko"
echo crc-module >"$mods/kernel/lib/libcrc32c.ko"
echo overlay-module >"$mods/kernel/fs/overlayfs/overlay.ko"
printf '%s\n' "kernel/fs/erofs/erofs.ko: kernel/lib/libcrc32c.ko" "kernel/lib/libcrc32c.ko:" \
  "kernel/fs/overlayfs/overlay.ko:" "kernel/fs/ext4/ext4.ko:" >"$mods/modules.dep"
ln -s usr/lib "$src/lib"
gr image import "$src" --name img >/dev/null
gr image export img >/dev/null
gr channel set gold img >/dev/null
gr host add pc01 --mac 52:54:00:12:00:01 >/dev/null

port=$(free_port)
url="http://127.0.0.1:$port"
"$GOLDROOT" serve --listen "127.0.0.1:$port" --tools-dir "$(dirname "$GOLDROOT_BOOT")" >"$WORK/serve.log" 2>&1 &
server=$!
on_exit "kill $server 2>/dev/null; wait $server 2>/dev/null"
for _ in $(seq 1 300); do curl -s "$url/api/v1/hosts" >/dev/null && break; sleep 0.1; done

initrd_url=$(curl -s "$url/boot/52:54:00:12:00:01.ipxe" | grep -o "$url/initrd/[0-9a-f]*\.img" | head -1)
[ -n "$initrd_url" ] || fail "the iPXE script loads no goldroot initrd"
curl -sf "$initrd_url" -o "$WORK/initrd.img" || fail "GET $initrd_url"
name=$(basename "$initrd_url" .img)
[ "$(sha256sum <"$WORK/initrd.img" | cut -c1-64)" = "$name" ] || fail "the initrd is not named by its sha256"
again=$(curl -s "$url/boot/52:54:00:12:00:01.ipxe" | grep -o "$url/initrd/[0-9a-f]*\.img" | head -1)
[ "$again" = "$initrd_url" ] || fail "a second script names another initrd"
curl -sI "$initrd_url" | grep -qi 'cache-control: .*immutable' || fail "the initrd is not served as immutable"
ok "the iPXE script loads a goldroot initrd named by its sha256, served immutable and built once"

zcat "$WORK/initrd.img" | cpio -t --quiet >"$WORK/list" || fail "not a gzip'd cpio archive"
for entry in scripts/goldroot lib/dracut/hooks/mount/90-goldroot.sh usr/lib/goldroot/bin/goldroot-boot \
  usr/lib/goldroot/libexec/goldroot-boot usr/lib/goldroot/site.pub usr/lib/goldroot/modules/order; do
  grep -qx "$entry" "$WORK/list" || fail "the initrd lacks $entry"
done
for shared in lib usr usr/lib lib/dracut lib/dracut/hooks lib/dracut/hooks/mount; do
  ! grep -qx "$shared" "$WORK/list" || fail "the initrd has an entry for /$shared"
done
ok "it holds the initramfs-tools script, the dracut hooks, goldroot-boot and the site key, and no directories the image's initrd has"

mkdir "$WORK/unpacked"
(cd "$WORK/unpacked" && zcat "$WORK/initrd.img" | cpio -idm --quiet) || fail "unpacking"
lib="$WORK/unpacked/usr/lib/goldroot"
cmp -s "$lib/site.pub" "$GOLDROOT_SITE/keys/site.pub" || fail "site.pub is not the site's key"
[ "$(cat "$lib/modules/order")" = "$(printf '%s\n' kernel/fs/overlayfs/overlay.ko kernel/lib/libcrc32c.ko kernel/fs/erofs/erofs.ko)" ] \
  || fail "module order: $(cat "$lib/modules/order")"
[ "$(cat "$lib/modules/kernel/fs/erofs/erofs.ko")" = erofs-module ] || fail "erofs.ko is not the image's"
ok "the image's own modules, dependencies first, and the site key"
env -i "$lib/bin/goldroot-boot" --help | grep -q '^usage: goldroot-boot' \
  || fail "goldroot-boot does not run from the unpacked initrd"
ok "goldroot-boot runs from the unpacked initrd with its bundled loader and libraries"
env -i "$lib/bin/goldroot-agent" --help 2>&1 | grep -q 'goldroot-agent' \
  || fail "goldroot-agent does not run from the unpacked initrd"
grep -q '^ExecStart=/run/goldroot/agent/bin/goldroot-agent' "$lib/goldroot-agent.service" \
  || fail "the agent's unit does not run the installed copy: $(grep ExecStart "$lib/goldroot-agent.service")"
ok "goldroot-agent and its unit travel in the initrd, pointing at /run/goldroot/agent"
# image gc removes the builds no kept commit boots with, and the server
# rebuilds one that gc (or an admin) removed under it.
cache="$GOLDROOT_SITE/exports/initrd"
old=$(gr image show img --json | grep -o '"commit": "[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}')
[ "$(cat "$cache/$old.commit")" = "$name" ] || fail "no note says which initrd $old boots with"
echo other-module >"$mods/kernel/fs/overlayfs/overlay.ko"  # another build for img2
gr image import "$src" --name img2 >/dev/null
gr image export img2 >/dev/null
gr channel set gold img2 >/dev/null
gr image rm img >/dev/null
new_url=$(curl -s "$url/boot/52:54:00:12:00:01.ipxe" | grep -o "$url/initrd/[0-9a-f]*\.img" | head -1)
new=$(basename "$new_url" .img)
[ -n "$new" ] && [ "$new" != "$name" ] || fail "img2 got no initrd of its own: $new_url"
touch -d '-2 hours' "$cache"/*.img  # past the grace period of builds in progress
gr image gc --history-days 0 >/dev/null
[ ! -e "$cache/$name.img" ] && [ ! -e "$cache/$old.commit" ] || fail "gc kept the initrd of a collected commit"
ls "$cache"/*.ref | xargs cat | grep -qx "$name" && fail "gc kept the recipe of a removed initrd"
[ -e "$cache/$new.img" ] || fail "gc removed the initrd gold boots with"
curl -sf "$new_url" -o /dev/null || fail "gold's initrd is not served after gc"
ok "image gc removes the initrd only a collected commit used, its recipe and its note; gold's stays"

rm "$cache/$new.img"
again=$(curl -s "$url/boot/52:54:00:12:00:01.ipxe" | grep -o "$url/initrd/[0-9a-f]*\.img" | head -1)
curl -sf "$again" -o /dev/null || fail "the server names an initrd that is gone: $again"
ok "the server rebuilds an initrd removed under it instead of naming a missing file"
finish

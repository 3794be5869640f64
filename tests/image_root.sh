#!/usr/bin/env bash
# Root-only image store checks: every piece of metadata a root filesystem
# has (owners, setuid, file capabilities, ACLs, device nodes) survives
# import and checkout from a directory and from a tar archive; and a full
# disk fails cleanly without harming the store.
source "$(dirname "$0")/lib.sh"
require_root
command -v setcap >/dev/null || require "setcap (libcap2-bin)"

gr init >/dev/null
src="$WORK/src"
mkdir -p "$src"/{bin,dev,etc,tmp,home/user,srv/shared}
echo '#!/bin/sh' > "$src/bin/ping"; chmod 4755 "$src/bin/ping"
setcap cap_net_raw+ep "$src/bin/ping"
echo secret > "$src/etc/shadow"; chown 0:42 "$src/etc/shadow"; chmod 0640 "$src/etc/shadow"
chmod 1777 "$src/tmp"
chown -R 1000:1000 "$src/home/user"; chmod 2750 "$src/home/user"
setfacl -m u:1001:rwx "$src/srv/shared"; setfacl -d -m g:100:rx "$src/srv/shared"
setfattr -n user.origin -v "lab image" "$src/etc/shadow"
setfattr -n trusted.goldroot -v 1 "$src/etc"
mknod "$src/dev/null" c 1 3; mknod "$src/dev/loop0" b 7 0; mkfifo "$src/dev/initctl"
python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$src/dev/log"
ln -s /proc/self/mounts "$src/etc/mtab"; ln -s ../nowhere "$src/etc/dangling"
touch -h -d '2001-02-03 04:05:06.789' "$src/etc/mtab"
ln "$src/bin/ping" "$src/bin/ping6"
: > "$src/etc/empty"; mkdir "$src/etc/empty.d"
touch -d '2010-10-10 10:10:10.101010101' "$src/etc" "$src/srv" "$src"

gr image import "$src" --name root >/dev/null
gr image checkout root "$WORK/out" 2>/dev/null
changes=$(rsync -aHAXnci --numeric-ids "$src/" "$WORK/out/")
[ -z "$changes" ] || { echo "$changes"; fail "checkout differs from the source"; }
[ "$(getcap "$WORK/out/bin/ping" | grep -c cap_net_raw)" = 1 ] || fail "file capability lost"
[ "$(stat -c %i "$WORK/out/bin/ping")" = "$(stat -c %i "$WORK/out/bin/ping6")" ] || fail "hardlink lost"
ok "directory import and checkout keep every piece of root filesystem metadata (rsync -aHAXnci sees nothing)"

tar --format=posix --xattrs --xattrs-include="*" --acls -C "$src" -cpzf "$WORK/root.tar.gz" . 2>/dev/null
gr image import "$WORK/root.tar.gz" --name roottar >/dev/null
gr image checkout roottar "$WORK/out-tar" 2>/dev/null
changes=$(rsync -aHAXnci --numeric-ids "$src/" "$WORK/out-tar/" | grep -v ' dev/log$' || true)
[ -z "$changes" ] || { echo "$changes"; fail "tar checkout differs from the source"; }
ok "tar import keeps owners, setuid, capabilities, ACLs, xattrs, devices and hardlinks"
gr image diff root roottar 2>/dev/null | grep -v ' /dev/log$' | grep -q . && {
  gr image diff root roottar; fail "tar and directory imports differ"; } || true
ok "tar and directory import of the same tree give the same tree"

# A full disk: the site lives on a small loop-mounted filesystem.
truncate -s 24M "$WORK/small.img"
mkfs.ext4 -q "$WORK/small.img"
mkdir "$WORK/small"
mount -o loop "$WORK/small.img" "$WORK/small"
on_exit "umount '$WORK/small'"
export GOLDROOT_SITE="$WORK/small/site"
gr init >/dev/null
mkdir -p "$WORK/fits" "$WORK/toobig"
head -c 3000000 /dev/urandom > "$WORK/fits/a"
for i in $(seq 1 8); do head -c 4000000 /dev/urandom > "$WORK/toobig/f$i"; done
good=$(gr image import "$WORK/fits" --name lab | tail -n1)
expect_fail "import onto a full disk" gr image import "$WORK/toobig" --name lab
echo "$LAST_ERROR" | grep -qi "is full" || fail "full-disk error does not say so: $LAST_ERROR"
[ "$(gr image show lab --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["commit"])')" = "$good" ] || fail "ref moved"
gr image fsck >/dev/null || fail "fsck after a full disk"
[ -z "$(ls "$GOLDROOT_SITE/store/tmp")" ] || fail "staging files left on the full disk"
rm -rf "$WORK/out-small"; gr image checkout lab "$WORK/out-small" 2>/dev/null
cmp "$WORK/fits/a" "$WORK/out-small/a" || fail "previous image damaged"
ok "a full disk fails with one sentence and leaves the store as it was"
finish

#!/usr/bin/env bash
# `goldroot image export`: erofs and squashfs artifacts that mount and show
# exactly the commit's tree, a tar that imports back to the same tree, the
# per-commit cache, the kernel/initrd found under /boot, and the signed
# manifest whose digests match the files.
source "$(dirname "$0")/lib.sh"
require_root
command -v mkfs.erofs >/dev/null || require "mkfs.erofs (erofs-utils)"
command -v mksquashfs >/dev/null || require "mksquashfs (squashfs-tools)"

gr init >/dev/null
src="$WORK/src"
mkdir -p "$src"/{boot,etc,usr/bin,dev}
head -c 300000 /dev/urandom > "$src/boot/vmlinuz-6.1.0-9-amd64"
head -c 400000 /dev/urandom > "$src/boot/vmlinuz-6.1.0-28-amd64"
head -c 500000 /dev/urandom > "$src/boot/initrd.img-6.1.0-28-amd64"
head -c 200000 /dev/urandom > "$src/boot/initrd.img-6.1.0-9-amd64"
echo "lab" > "$src/etc/hostname"
python3 -c "import sys; sys.stdout.write('goldroot\n' * 300000)" > "$src/usr/bin/compressible"
echo '#!/bin/sh' > "$src/usr/bin/ping"; chmod 4755 "$src/usr/bin/ping"
setfattr -n user.note -v exported "$src/etc/hostname"
mknod "$src/dev/null" c 1 3
ln "$src/usr/bin/ping" "$src/usr/bin/ping6"
ln -s boot/vmlinuz-6.1.0-9-amd64 "$src/vmlinuz.old"
gr image import "$src" --name lab >/dev/null
gr image checkout lab "$WORK/expected" 2>/dev/null

out=$(gr image export lab --json)
artifact=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["path"])')
echo "$out" | python3 -c '
import json,sys
r = json.load(sys.stdin)
assert r["format"] == "erofs" and not r["reused"], r
assert r["kernel"]["path"] == "/boot/vmlinuz-6.1.0-28-amd64", r["kernel"]
assert r["initrd"]["path"] == "/boot/initrd.img-6.1.0-28-amd64", r["initrd"]' || fail "export record"
ok "export finds the newest kernel and its initrd under /boot"

[ "$(sha256sum < "$artifact" | cut -d' ' -f1)" = "$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sha256"])')" ] || fail "artifact digest"
python3 - "$artifact.manifest.json" "$WORK/expected" "$artifact" <<'PY' || fail "manifest"
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
root = sys.argv[2]
sha = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
assert m["image"]["sha256"] == sha(sys.argv[3]), "image digest"
assert m["image"]["url"] == "/images/%s.erofs" % m["image"]["sha256"], m["image"]["url"]
for part in ("kernel", "initrd"):
    assert m[part]["sha256"] == sha(root + m[part]["path"]), part
assert m["signature"]["algorithm"] == "ed25519" and len(m["signature"]["value"]) > 40
PY
ok "the signed manifest's digests match the artifact, kernel and initrd"

# The dm-verity tree beside the image: what the manifest says, and what
# Debian's veritysetup (libcryptsetup, in user space) accepts for the image.
python3 - "$artifact.manifest.json" "$artifact" > "$WORK/verity" <<'PY' || fail "verity in the manifest"
import hashlib, json, os, sys
m = json.load(open(sys.argv[1]))
v = m["image"]["verity"]
salt = hashlib.sha256(b"goldroot-verity-salt\n").hexdigest()  # one salt for every image
assert v["salt"] == salt, "salt"
assert v["data_block_size"] == v["hash_block_size"] == 4096
assert v["data_blocks"] * 4096 == m["image"]["size"] == os.path.getsize(sys.argv[2])
assert v["tree_size"] == os.path.getsize(sys.argv[2] + ".verity"), "tree size"
assert v["tree_url"] == "/images/%s.verity" % m["image"]["sha256"], v["tree_url"]
print(v["root_hash"], v["salt"])
PY
read -r root_hash salt < "$WORK/verity"
if command -v veritysetup >/dev/null; then
  veritysetup verify --no-superblock --hash=sha256 --data-block-size=4096 --hash-block-size=4096 \
    --salt="$salt" "$artifact" "$artifact.verity" "$root_hash" || fail "veritysetup rejects the tree"
  cp "$artifact" "$WORK/flipped"
  printf '\xff' | dd of="$WORK/flipped" bs=1 seek=8192 conv=notrunc status=none
  ! veritysetup verify --no-superblock --salt="$salt" "$WORK/flipped" "$artifact.verity" \
    "$root_hash" 2>/dev/null || fail "veritysetup accepts a flipped byte"
  ok "the erofs export's verity tree passes veritysetup verify (and a flipped byte fails it)"
else
  echo "note: veritysetup (cryptsetup-bin) missing; the tree was only checked by the manifest"
fi

mkdir "$WORK/mnt"
mount -t erofs -o loop,ro "$artifact" "$WORK/mnt"
on_exit "umount '$WORK/mnt' 2>/dev/null"
changes=$(rsync -aHAXnci --numeric-ids "$WORK/expected/" "$WORK/mnt/")
umount "$WORK/mnt"
[ -z "$changes" ] || { echo "$changes"; fail "the mounted erofs differs from the commit"; }
ok "the erofs artifact mounts and shows exactly the commit (rsync -aHAXnci)"

again=$(gr image export lab --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["reused"])')
[ "$again" = True ] || fail "second export rebuilt the artifact"
ok "exports are cached per commit"

# An export recorded before verity trees: the next export builds the tree
# and leaves the image alone.
inode=$(stat -c %i "$artifact")
python3 - "$artifact.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); del r["verity"]; json.dump(r, open(sys.argv[1], "w"))
PY
rm "$artifact.verity"
again=$(gr image export lab --json)
echo "$again" | python3 -c 'import json,sys; r = json.load(sys.stdin); assert r["reused"] and r["verity"]["tree_size"] > 0, r' \
  || fail "re-export of an older record"
[ "$(stat -c %i "$artifact")" = "$inode" ] || fail "re-export rebuilt the image"
[ -s "$artifact.verity" ] || fail "re-export wrote no tree"
ok "re-exporting an export recorded without a tree adds the tree, not a new image"

gr image export lab --format squashfs --output "$WORK/lab.squashfs" >/dev/null
[ -s "$WORK/lab.squashfs.manifest.json" ] || fail "no manifest beside --output"
[ ! -e "$WORK/lab.squashfs.verity" ] && ! ls "$GOLDROOT_SITE"/exports/*.squashfs.verity 2>/dev/null \
  || fail "a squashfs export got a verity tree"
python3 -c 'import json,sys; assert "verity" not in json.load(open(sys.argv[1]))["image"]' \
  "$WORK/lab.squashfs.manifest.json" || fail "a squashfs manifest names a verity tree"
mount -t squashfs -o loop,ro "$WORK/lab.squashfs" "$WORK/mnt"
# squashfs keeps whole-second mtimes only, so compare everything else.
changes=$(rsync -aHAXnci --numeric-ids --modify-window=1 "$WORK/expected/" "$WORK/mnt/")
umount "$WORK/mnt"
[ -z "$changes" ] || { echo "$changes"; fail "the mounted squashfs differs from the commit"; }
ok "the squashfs artifact mounts and shows the commit"

gr image export lab --format tar --output "$WORK/lab.tar" >/dev/null
gr image import "$WORK/lab.tar" --name fromtar >/dev/null
[ -z "$(gr image diff lab fromtar 2>/dev/null)" ] || { gr image diff lab fromtar; fail "tar round trip"; }
ok "the tar export imports back to the identical tree"

# The next version keeps the layout of the last export: it says how much of
# it a client holding that export would fetch, and mounts as its commit.
[ -s "$artifact.layout" ] || fail "no layout beside the erofs artifact"
echo "v2" > "$src/etc/hostname"
python3 -c "import sys; sys.stdout.write('added\n' * 1000)" > "$src/usr/bin/added"
rm "$src/usr/bin/ping6"
gr image import "$src" --name lab >/dev/null
out=$(gr image export lab 2>"$WORK/stderr")
echo "$out" | grep -Eq "^export: [0-9]+ of [0-9]+ blocks \(.*%\) differ from the base export [0-9a-f]{12}" \
  || { echo "$out"; fail "no count of blocks differing from the base export"; }
[ ! -s "$WORK/stderr" ] || { cat "$WORK/stderr"; fail "the base layout was not kept"; }
v2=$(echo "$out" | sed -n 's/^erofs \([^ ]*\) .*/\1/p')
fsck.erofs "$v2" >/dev/null || fail "fsck.erofs rejects the image laid out on its base"
rm -rf "$WORK/expected2"; gr image checkout lab "$WORK/expected2" 2>/dev/null
mount -t erofs -o loop,ro "$v2" "$WORK/mnt"
changes=$(rsync -aHAXnci --numeric-ids "$WORK/expected2/" "$WORK/mnt/")
umount "$WORK/mnt"
[ -z "$changes" ] || { echo "$changes"; fail "the image laid out on its base differs from the commit"; }
ok "an export keeps the layout of the previous one, counts what differs, and equals its commit"
# A damaged base layout: a fresh layout, and one sentence saying so.
echo "v3" > "$src/etc/hostname"
gr image import "$src" --name lab >/dev/null
printf 'garbage' > "$v2.layout"
gr image export lab >/dev/null 2>"$WORK/stderr"
grep -q "^export: not keeping the layout of the base export [0-9a-f]\{12\}: the erofs layout is damaged" \
  "$WORK/stderr" || { cat "$WORK/stderr"; fail "no sentence about the damaged base layout"; }
ok "a damaged base layout gives a fresh layout and says so"

expect_fail "unknown format" gr image export lab --format zip
mkdir -p "$WORK/nokernel/etc"; echo x > "$WORK/nokernel/etc/x"
gr image import "$WORK/nokernel" --name container >/dev/null
gr image export container | grep -q "no boot manifest: .*has no kernel" || fail "no-kernel note"
ok "an image without a kernel exports but says it cannot boot"
finish

#!/usr/bin/env bash
# Change tracking, capture and reset against the kernel's real overlayfs:
# a lower checked out from the store, 35 scripted operations through the
# merged dir, then `changes` must report exactly the expected set and
# capture + checkout must equal the merged view (rsync -aHAXnci sees
# nothing). Repeated with redirect_dir=on and with metacopy=on; then xattr
# whiteouts in a layer, userxattr, --content, reset, and bad input.
source "$(dirname "$0")/lib.sh"
require_root
command -v setfattr >/dev/null || require "setfattr (attr)"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || require "overlayfs"

gr init >/dev/null
src="$WORK/src"
mkdir -p "$src"/{etc/apt/apt.conf.d,usr/bin,usr/lib,usr/share/doc/pkg,usr/share/zoneinfo/Europe} \
  "$src"/{var/log,var/lib/app,opt/olddir/b,opt/dir2file,srv/data,home/user,dev,tmp}
echo "proc /proc proc defaults 0 0" > "$src/etc/fstab"
echo lab > "$src/etc/hostname"
echo "root:x:0:0::/root:/bin/sh" > "$src/etc/passwd"
echo "root:*:1::::::" > "$src/etc/shadow"; chown 0:42 "$src/etc/shadow"; chmod 640 "$src/etc/shadow"
echo welcome > "$src/etc/motd"
echo Debian > "$src/etc/issue"; setfattr -n user.origin -v image "$src/etc/issue"
head -c 1000 /dev/zero | tr '\0' 'b' > "$src/etc/big"
echo "deb http://deb.example bookworm main" > "$src/etc/apt/sources.list"
echo a > "$src/etc/apt/apt.conf.d/10a"; echo b > "$src/etc/apt/apt.conf.d/20b"
printf '#!/bin/sh\necho tool\n' > "$src/usr/bin/tool"; chmod 755 "$src/usr/bin/tool"
ln "$src/usr/bin/tool" "$src/usr/bin/tool-link"
echo x > "$src/usr/lib/x"; echo y > "$src/usr/lib/y"; printf 'bin\0ary' > "$src/usr/lib/blob"
echo readme > "$src/usr/share/doc/pkg/README"; echo gpl > "$src/usr/share/doc/pkg/copyright"
echo UTC > "$src/usr/share/zoneinfo/UTC"; echo CET > "$src/usr/share/zoneinfo/Europe/Paris"
echo old > "$src/var/log/syslog"; echo state > "$src/var/lib/app/state"
echo a > "$src/opt/olddir/a"; echo c > "$src/opt/olddir/b/c"
echo file > "$src/opt/file2dir"; echo x > "$src/opt/dir2file/x"
echo one > "$src/srv/data/one"; echo two > "$src/srv/data/two"
echo "PATH=/bin" > "$src/home/user/.profile"; chown -R 1001:1001 "$src/home/user"
ln -s usr/bin "$src/bin"
mknod "$src/dev/null" c 1 3; chmod 1777 "$src/tmp"
touch -d '2020-01-01 00:00:00' "$src"/etc/* "$src"/usr/lib/*
base=$(gr image import "$src" --name base | tail -n1)
gr image checkout base "$WORK/lower" 2>/dev/null

# The 35 operations, through the merged dir $m.
operate() {
  local m=$1
  echo new > "$m/etc/newfile"                                   # 1 create
  echo "# edit" >> "$m/etc/fstab"                               # 2 append
  sed -i 's/lab/lab-42/' "$m/etc/hostname"                      # 3 edit
  truncate -s 0 "$m/etc/motd"                                   # 4 truncate
  truncate -s 5000 "$m/etc/big"                                 # 5 grow
  echo "deb http://deb.example bookworm contrib" >> "$m/etc/apt/sources.list"  # 6 append
  chmod 600 "$m/etc/passwd"                                     # 7 chmod
  chown 1000:1000 "$m/home/user/.profile"                       # 8 chown
  setfattr -n user.note -v hi "$m/srv/data/one"                 # 9 setfattr
  setfattr -x user.origin "$m/etc/issue"                        # 10 remove an xattr
  touch -d '2001-01-01 00:00:00' "$m/usr/lib/y"                 # 11 mtime only
  echo a > "$WORK/same"; cp "$WORK/same" "$m/etc/apt/apt.conf.d/10a"  # 12 same bytes rewritten
  chmod 700 "$m/var/lib/app"                                    # 13 chmod a dir
  rm "$m/etc/apt/apt.conf.d/20b"                                # 14 rm
  rm -r "$m/opt/olddir"                                         # 15 rm -r
  mkdir "$m/opt/olddir"; echo fresh > "$m/opt/olddir/new"       # 16 mkdir over it
  mv "$m/srv/data/two" "$m/srv/data/three"                      # 17 rename a file
  mv "$m/usr/share/doc/pkg" "$m/usr/share/doc/pkg2"             # 18 rename a dir
  echo news > "$m/usr/share/doc/pkg2/NEWS"                      # 19 write into it
  ln "$m/etc/newfile" "$m/etc/newfile-link"                     # 20 hardlink a new file
  ln "$m/usr/lib/x" "$m/usr/lib/x-link"                         # 21 hardlink a lower file
  ln -s /etc/fstab "$m/etc/fstab-link"                          # 22 symlink
  mknod "$m/dev/ttyX" c 4 64                                    # 23 mknod
  mkfifo "$m/dev/initctl"                                       # 24 fifo
  rm "$m/opt/file2dir"; mkdir "$m/opt/file2dir"; echo in > "$m/opt/file2dir/inside"  # 25 file -> dir
  rm -r "$m/opt/dir2file"; echo now-a-file > "$m/opt/dir2file"  # 26 dir -> file
  rm "$m/bin"; ln -s usr/lib "$m/bin"                           # 27 retarget a symlink
  mkdir -p "$m/srv/new/deep"; echo x > "$m/srv/new/deep/f"      # 28 new tree
  rm "$m/var/log/syslog"; echo boot > "$m/var/log/boot.log"     # 29 noise
  echo scratch > "$m/tmp/scratch"                               # 30 noise
  echo t > "$m/etc/tempfile"; rm "$m/etc/tempfile"              # 31 leaves nothing
  mv "$m/etc/newfile" "$m/etc/newfile-moved"                    # 32 rename a new file
  mkdir "$m/home/user/docs"                                     # 33 rename a dir elsewhere
  mv "$m/usr/share/zoneinfo" "$m/home/user/docs/zoneinfo"
  setfattr -n trusted.lab -v 1 "$m/srv"                         # 34 trusted xattr on a dir
  cp -a "$m/etc/hostname" "$m/etc/hostname.bak"                 # 35 copy
}

common_expected="modified /etc/fstab
modified /etc/hostname
modified /etc/motd
modified /etc/big
modified /etc/apt/sources.list
metadata /etc/passwd
metadata /home/user/.profile
metadata /srv/data/one
metadata /etc/issue
metadata /usr/lib/y
metadata /etc/apt/apt.conf.d/10a
metadata /var/lib/app
metadata /srv
deleted /etc/apt/apt.conf.d/20b
opaque /opt/olddir
added /opt/olddir/new
added /usr/share/doc/pkg2/NEWS
added /etc/newfile-link
added /usr/lib/x-link
added /etc/fstab-link
added /dev/ttyX
added /dev/initctl
type-changed /opt/file2dir
added /opt/file2dir/inside
type-changed /opt/dir2file
modified /bin
added /srv/new
added /srv/new/deep
added /srv/new/deep/f
deleted /var/log/syslog ignored
added /var/log/boot.log ignored
added /tmp/scratch ignored
added /etc/newfile-moved
added /home/user/docs
added /etc/hostname.bak"

expected_plain="added /srv/data/three
deleted /srv/data/two
added /usr/share/doc/pkg2
added /usr/share/doc/pkg2/README
added /usr/share/doc/pkg2/copyright
deleted /usr/share/doc/pkg
added /home/user/docs/zoneinfo
added /home/user/docs/zoneinfo/UTC
added /home/user/docs/zoneinfo/Europe
added /home/user/docs/zoneinfo/Europe/Paris
deleted /usr/share/zoneinfo"
expected_redirect="added /srv/data/three
deleted /srv/data/two
renamed /usr/share/doc/pkg2
renamed /home/user/docs/zoneinfo"
expected_metacopy="renamed /srv/data/three
renamed /usr/share/doc/pkg2
renamed /home/user/docs/zoneinfo"

as_lines() {
  python3 -c '
import json, sys
for c in json.load(sys.stdin):
    print(c["change"], c["path"], *(["ignored"] if c.get("ignored") else []))' | sort
}

mount_overlay() {  # DIR OPTIONS
  local dir=$1 options=$2
  mkdir -p "$dir"/{upper,work,merged}
  mount -t overlay overlay -o "lowerdir=$WORK/lower,upperdir=$dir/upper,workdir=$dir/work$options" "$dir/merged"
}

for mode in plain redirect metacopy; do
  case $mode in
    plain) options=",redirect_dir=off,metacopy=off"; extra=$expected_plain ;;
    redirect) options=",redirect_dir=on,metacopy=off"; extra=$expected_redirect ;;
    metacopy) options=",redirect_dir=on,metacopy=on"; extra=$expected_metacopy ;;
  esac
  dir="$WORK/$mode"
  mount_overlay "$dir" "$options"
  on_exit "umount '$dir/merged' 2>/dev/null"
  operate "$dir/merged"
  expect_fail "[$mode] capture refuses a mounted upper" \
    gr capture --lower base --upper "$dir/upper" --name "cap-$mode"
  umount "$dir/merged"

  gr changes --lower base --upper "$dir/upper" --all --json | as_lines > "$dir/got"
  printf '%s\n%s\n' "$common_expected" "$extra" | sort > "$dir/want"
  diff -u "$dir/want" "$dir/got" || fail "[$mode] changes differ from the expected set"
  ok "[$mode] changes reports exactly the 35 operations' expected set"

  gr changes --lower "$WORK/lower" --upper "$dir/upper" --all --json | as_lines > "$dir/got-dir"
  diff -u "$dir/got" "$dir/got-dir" || fail "[$mode] a directory lower and a store lower disagree"
  ok "[$mode] a directory lower reports the same as the store commit"

  text=$(gr changes --lower base --upper "$dir/upper")
  echo "$text" | head -n1 | grep -q '^dirty: ' || fail "[$mode] no summary line: $text"
  echo "$text" | grep -q '^M /etc/fstab\( \|$\)' || fail "[$mode] text mode lacks 'M /etc/fstab'"
  echo "$text" | grep -q 'scratch' && fail "[$mode] ignored paths shown without --all"
  ok "[$mode] text mode: summary line, git-status-like lines, ignored paths hidden"

  commit=$(gr capture --lower base --upper "$dir/upper" --name "cap-$mode" -m "$mode" 2>/dev/null | tail -n1)
  gr image show "$commit" --json | python3 -c '
import json, sys; c = json.load(sys.stdin); sys.exit(0 if sys.argv[1] in c["parents"] else 1)' "$base" \
    || fail "[$mode] the capture's parent is not the lower commit"
  gr image checkout "$commit" "$dir/checkout" 2>/dev/null
  mount -t overlay overlay -o "lowerdir=$WORK/lower,upperdir=$dir/upper,workdir=$dir/work$options" "$dir/merged"
  differences=$(rsync -aHAXnci --numeric-ids "$dir/merged/" "$dir/checkout/")
  [ -z "$differences" ] || { echo "$differences"; fail "[$mode] capture + checkout differs from the merged view"; }
  # diff -r calls any two fifos or devices different; rsync compared those.
  differences=$(diff -r --no-dereference "$dir/merged" "$dir/checkout" 2>&1 |
    grep -Ev 'is a (fifo|character special file) while file .* is a (fifo|character special file)$' || true)
  [ -z "$differences" ] || { echo "$differences"; fail "[$mode] contents differ (diff -r)"; }
  ok "[$mode] capture + checkout equals the merged view (rsync -aHAXnci, diff -r)"

  expect_fail "[$mode] reset refuses while the overlay is mounted" \
    gr reset --upper "$dir/upper" --work "$dir/work"
  echo "$LAST_ERROR" | grep -q "unmount" || fail "reset's refusal does not say what to do"
  umount "$dir/merged"
done
gr image fsck >/dev/null || fail "fsck after three captures"
ok "the store is sound after three captures"

# --content: a unified diff of one text file.
dir="$WORK/plain"
gr changes --lower base --upper "$dir/upper" --content /etc/fstab > "$WORK/fstab.diff"
grep -q '^+# edit$' "$WORK/fstab.diff" && grep -q '^--- lower/etc/fstab' "$WORK/fstab.diff" \
  || { cat "$WORK/fstab.diff"; fail "--content diff is wrong"; }
(cd "$WORK" && cp lower/etc/fstab a && cp "$dir/checkout/etc/fstab" b && diff -u a b | tail -n +3) > "$WORK/want.diff" || true
tail -n +3 "$WORK/fstab.diff" | diff -u "$WORK/want.diff" - || fail "--content hunks differ from diff -u"
ok "--content prints the same hunks as diff -u"
gr changes --lower base --upper "$dir/upper" --content /etc/newfile-moved | grep -q '^+++ merged/etc/newfile-moved' \
  || fail "--content of an added file"
[ -z "$(gr changes --lower base --upper "$dir/upper" --content /etc/shadow)" ] || fail "unchanged file shows a diff"
ok "--content on an added file diffs against /dev/null; an unchanged file prints nothing"
expect_fail "--content on a binary file" gr changes --lower base --upper "$dir/upper" --content /usr/lib/blob
expect_fail "--content on an absent file" gr changes --lower base --upper "$dir/upper" --content /etc/nothing
expect_fail "--content on a directory" gr changes --lower base --upper "$dir/upper" --content /srv/new

# Bad input.
expect_fail "changes with a missing upper dir" gr changes --lower base --upper "$WORK/nowhere"
expect_fail "changes with an unknown lower" gr changes --lower no-such-image --upper "$dir/upper"
expect_fail "capture with an unknown lower" gr capture --lower no-such-image --upper "$dir/upper" --name x
expect_fail "reset of a missing dir" gr reset --upper "$WORK/nowhere"
echo "etc/relative" > "$WORK/bad-ignore"
expect_fail "a relative pattern in the ignore file" \
  gr changes --lower base --upper "$dir/upper" --ignore-file "$WORK/bad-ignore"

# The site's ignore list replaces the defaults; @defaults extends them.
printf '@defaults\n/etc/apt/**\n' > "$GOLDROOT_SITE/changes-ignore"
gr changes --lower base --upper "$dir/upper" --json | as_lines | grep -q ' /etc/apt/' \
  && fail "the site ignore list was not used"
printf '/srv\n' > "$GOLDROOT_SITE/changes-ignore"
gr changes --lower base --upper "$dir/upper" --json | as_lines | grep -q ' /tmp/scratch' \
  || fail "a site ignore list without @defaults should replace the defaults"
rm "$GOLDROOT_SITE/changes-ignore"
ok "SITE/changes-ignore replaces the defaults, @defaults extends them"

# An upper with only noise is clean.
mkdir -p "$WORK/noise"/{upper,work,merged}
mount -t overlay overlay -o "lowerdir=$WORK/lower,upperdir=$WORK/noise/upper,workdir=$WORK/noise/work" "$WORK/noise/merged"
echo x > "$WORK/noise/merged/tmp/x"; echo y >> "$WORK/noise/merged/var/log/syslog"
umount "$WORK/noise/merged"
gr changes --lower base --upper "$WORK/noise/upper" | head -n1 | grep -q '^clean: ' || fail "noise made the machine dirty"
ok "changes only on the ignore list leave the machine clean"

# Reset: empties upper and work without following symlinks.
mkdir -p "$WORK/outside"; echo keep > "$WORK/outside/keep"
dir="$WORK/plain"
ln -s "$WORK/outside" "$dir/upper/etc/outside-link"
ln -s "$WORK/outside/keep" "$dir/upper/keep-link"
gr reset --upper "$dir/upper" --work "$dir/work" >/dev/null
[ -z "$(ls -A "$dir/upper")" ] && [ -z "$(ls -A "$dir/work")" ] || fail "reset left entries"
[ "$(cat "$WORK/outside/keep")" = keep ] || fail "reset followed a symlink"
mount -t overlay overlay -o "lowerdir=$WORK/lower,upperdir=$dir/upper,workdir=$dir/work" "$dir/merged"
differences=$(rsync -aHAXnci --numeric-ids "$dir/merged/" "$WORK/lower/" | grep -v ' \./$' || true)
[ -z "$differences" ] || { echo "$differences"; fail "after reset the merged view is not the image"; }
ok "reset empties upper and workdir, follows no symlink, and the image shows again"
umount "$dir/merged"
[ "$(gr changes --lower base --upper "$dir/upper" | head -n1)" = "clean: no changes" ] || fail "reset upper not clean"
ok "an emptied upper reports 'clean: no changes'"

# Xattr whiteouts (a layer built by a tool), checked against the kernel
# reading the same dir as a lower layer.
layer="$WORK/layer"; mkdir -p "$layer/etc" "$layer/usr"
setfattr -n trusted.overlay.opaque -v x "$layer"
setfattr -n trusted.overlay.opaque -v x "$layer/etc"
: > "$layer/etc/motd"; setfattr -n trusted.overlay.whiteout -v "" "$layer/etc/motd"
echo "from the layer" > "$layer/etc/layerfile"
mkdir "$layer/usr/share"; setfattr -n trusted.overlay.opaque -v y "$layer/usr/share"
touch -r "$WORK/lower/usr" "$layer/usr"; touch -r "$WORK/lower/etc" "$layer/etc"; touch -r "$WORK/lower" "$layer"
mkdir -p "$WORK/xw"
mount -t overlay overlay -o "lowerdir=$layer:$WORK/lower" "$WORK/xw"
on_exit "umount '$WORK/xw' 2>/dev/null"
[ ! -e "$WORK/xw/etc/motd" ] || require "a kernel with xattr whiteouts (6.7+)"
gr changes --lower base --upper "$layer" --json | as_lines > "$WORK/xw.got"
printf '%s\n' "added /etc/layerfile" "deleted /etc/motd" "opaque /usr/share" | sort > "$WORK/xw.want"
diff -u "$WORK/xw.want" "$WORK/xw.got" || fail "xattr whiteouts misread"
commit=$(gr capture --lower base --upper "$layer" --name layer 2>/dev/null | tail -n1)
gr image checkout "$commit" "$WORK/xw-checkout" 2>/dev/null
differences=$(rsync -aHAXnci --numeric-ids "$WORK/xw/" "$WORK/xw-checkout/")
[ -z "$differences" ] || { echo "$differences"; fail "capture of an xwhiteout layer differs from the kernel's view"; }
umount "$WORK/xw"
ok "xattr whiteouts (opaque=x) and opaque=y read as the kernel reads them"

# userxattr: the user.overlay.* names.
mkdir -p "$WORK/ux"/{upper,work,merged}
if mount -t overlay overlay -o "lowerdir=$WORK/lower,upperdir=$WORK/ux/upper,workdir=$WORK/ux/work,userxattr" "$WORK/ux/merged" 2>/dev/null; then
  rm -r "$WORK/ux/merged/opt/olddir"; mkdir "$WORK/ux/merged/opt/olddir"; rm "$WORK/ux/merged/etc/motd"
  umount "$WORK/ux/merged"
  getfattr -n user.overlay.opaque "$WORK/ux/upper/opt/olddir" >/dev/null 2>&1 || fail "userxattr mount made no user.overlay.opaque"
  gr changes --lower base --upper "$WORK/ux/upper" --userxattr --json | as_lines > "$WORK/ux.got"
  printf '%s\n' "deleted /etc/motd" "opaque /opt/olddir" > "$WORK/ux.want"
  diff -u "$WORK/ux.want" "$WORK/ux.got" || fail "--userxattr misread"
  ok "--userxattr reads user.overlay.* conventions"
else
  echo "note: this kernel refuses userxattr for root; skipped that check" >&2
fi
finish

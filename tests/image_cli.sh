#!/usr/bin/env bash
# `goldroot image …` as an admin uses it: imports from directories and tar
# archives, refs, diff, fsck, gc, the site lock, bad input, and kill -9 at
# random moments of import and gc.
source "$(dirname "$0")/lib.sh"

gr init >/dev/null
mkdir -p "$WORK/v1/etc" "$WORK/v1/usr/bin" "$WORK/v1/var/empty"
echo "proc /proc proc defaults 0 0" > "$WORK/v1/etc/fstab"
head -c 2000000 /dev/urandom > "$WORK/v1/usr/bin/big"
ln -s /usr/bin/big "$WORK/v1/usr/bin/link"
for i in $(seq 1 200); do echo "file $i" > "$WORK/v1/etc/conf$i"; done

# Import prints the commit id as the last line of stdout.
c1=$(gr image import "$WORK/v1" --name lab -m "first" | tail -n1)
[[ "$c1" =~ ^[0-9a-f]{64}$ ]] || fail "import did not print a commit id: $c1"
ok "import prints the commit id"

# v2 changes one 1 MB file: the store grows by about that much.
cp -a "$WORK/v1" "$WORK/v2"
head -c 1000000 /dev/urandom > "$WORK/v2/usr/bin/new"
rm "$WORK/v2/etc/conf7"
before=$(du -sb "$GOLDROOT_SITE/store/objects" | cut -f1)
c2=$(gr image import "$WORK/v2" --name lab -m "second" | tail -n1)
after=$(du -sb "$GOLDROOT_SITE/store/objects" | cut -f1)
growth=$((after - before))
[ "$growth" -ge 1000000 ] && [ "$growth" -lt 1100000 ] || fail "v2 grew the store by $growth bytes"
ok "v2 grows the store by only what changed ($growth bytes for a 1000000-byte change)"

# Refs: name, prefix, NAME~N.
[ "$(gr image show lab --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["commit"])')" = "$c2" ] || fail "show lab"
[ "$(gr image show lab~1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["commit"])')" = "$c1" ] || fail "show lab~1"
[ "$(gr image show "${c1:0:12}" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["commit"])')" = "$c1" ] || fail "prefix"
gr image log lab | grep -q "second" || fail "log"
ok "REF forms: name, prefix, NAME~N"

gr image list --json | python3 -c '
import json,sys
images = json.load(sys.stdin)
assert len(images) == 1 and images[0]["name"] == "lab", images
assert images[0]["entries"] == 208 and images[0]["size"] > 3000000, images[0]
' || fail "image list --json"
ok "image list --json"

diff_out=$(gr image diff lab~1 lab 2>/dev/null)
[ "$(echo "$diff_out" | grep -c .)" = 4 ] || { echo "$diff_out"; fail "diff lines"; }
echo "$diff_out" | grep -qx "A /usr/bin/new" || fail "diff added"
echo "$diff_out" | grep -qx "D /etc/conf7" || fail "diff deleted"
gr image diff lab~1 lab --json | python3 -c '
import json,sys
changes = {c["path"]: c["change"] for c in json.load(sys.stdin)}
assert changes["/usr/bin/new"] == "added" and changes["/etc/conf7"] == "deleted", changes
' || fail "diff --json"
ok "image diff"

# Tar archives, compressed every way the issue names.
for compress in "" gz zst xz; do
  case $compress in
    "") tar -C "$WORK/v2" -cf "$WORK/v2.tar" . ; archive="$WORK/v2.tar" ;;
    gz) tar -C "$WORK/v2" -czf "$WORK/v2.tar.gz" . ; archive="$WORK/v2.tar.gz" ;;
    zst) tar -C "$WORK/v2" --zstd -cf "$WORK/v2.tar.zst" . ; archive="$WORK/v2.tar.zst" ;;
    xz) tar -C "$WORK/v2" -cJf "$WORK/v2.tar.xz" . ; archive="$WORK/v2.tar.xz" ;;
  esac
  gr image import "$archive" --name "tar${compress:-plain}" >/dev/null
  rm -rf "$WORK/out"
  gr image checkout "tar${compress:-plain}" "$WORK/out" 2>/dev/null
  [ -z "$(rsync -aHnci --numeric-ids "$WORK/v2/" "$WORK/out/")" ] || fail "tar $compress checkout differs"
done
ok "tar, tar.gz, tar.zst and tar.xz import exactly"

# Bad input: one sentence, non-zero exit, store unharmed.
expect_fail "missing source" gr image import "$WORK/nope" --name x
python3 - "$WORK/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    data = b"owned"
    info = tarfile.TarInfo("../../etc/evil"); info.size = len(data)
    t.addfile(info, io.BytesIO(data))
PY
expect_fail "tar entry escaping with ../" gr image import "$WORK/evil.tar" --name evil
python3 - "$WORK/evil-link.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    info = tarfile.TarInfo("ok"); info.size = 1
    t.addfile(info, io.BytesIO(b"x"))
    link = tarfile.TarInfo("hard"); link.type = tarfile.LNKTYPE; link.linkname = "../../etc/shadow"
    t.addfile(link)
PY
expect_fail "tar hardlink escaping" gr image import "$WORK/evil-link.tar" --name evil
head -c 30000 "$WORK/v2.tar.gz" > "$WORK/truncated.tar.gz"
expect_fail "truncated archive" gr image import "$WORK/truncated.tar.gz" --name trunc
echo "not an archive" > "$WORK/junk"
expect_fail "a file that is not an archive" gr image import "$WORK/junk" --name junk
expect_fail "unknown ref" gr image show nosuchimage
expect_fail "bad ref syntax" gr image show lab~x
expect_fail "history too short" gr image show lab~5
expect_fail "bad image name" gr image import "$WORK/v1" --name "../x"
expect_fail "checkout into a non-empty dir" gr image checkout lab "$WORK/v1"
gr image list --json | python3 -c '
import json,sys
names = sorted(i["name"] for i in json.load(sys.stdin))
assert names == ["lab", "targz", "tarplain", "tarxz", "tarzst"], names' || fail "failed imports left refs"
gr image fsck >/dev/null || fail "fsck after bad input"
[ -z "$(ls "$GOLDROOT_SITE/store/tmp")" ] || fail "failed imports left staging files"
ok "bad input left the store clean"

# Ambiguous prefix: find two commits sharing a first hex digit pair.
ids=$( (gr image log lab --json; gr image log tarplain --json) | python3 -c '
import json,sys
ids = []
for chunk in sys.stdin.read().replace("]\n[", "]\n\x00[").split("\x00"):
    ids += [c["commit"] for c in json.loads(chunk)]
print(" ".join(ids))')
prefix=$(python3 -c '
import sys, collections
ids = sys.argv[1:]
c = collections.Counter(i[:2] for i in ids)
print(next((p for p, n in c.items() if n > 1), ""))' $ids)
if [ -n "$prefix" ]; then
  expect_fail "ambiguous prefix" gr image show "${prefix}"
fi

# The site lock: a second writer gets a clear message while one holds it.
( flock -x "$GOLDROOT_SITE/lock" -c "echo 'pid 1: image import held-for-test' > $GOLDROOT_SITE/lock; sleep 3" ) &
sleep 0.5
expect_fail "site busy" gr image import "$WORK/v1" --name busy
echo "$LAST_ERROR" | grep -q "another goldroot command" || fail "lock message: $LAST_ERROR"
wait

# Corruption: fsck exits 1, naming the object and the refs that need it.
obj=$(find "$GOLDROOT_SITE/store/objects" -name '*.file' -size +1000k | head -n1)
printf 'X' | dd of="$obj" bs=1 seek=100 conv=notrunc 2>/dev/null
set +e; out=$(gr image fsck 2>&1); rc=$?; set -e
[ "$rc" = 1 ] || fail "fsck exit $rc on corruption"
echo "$out" | grep -q "^corrupt file object .*needed by .*image lab" || { echo "$out"; fail "fsck did not name the refs"; }
ok "fsck names the corrupt object and its refs"
gr image fsck --json | python3 -c '
import json,sys
r = json.load(sys.stdin)
assert not r["ok"] and r["problems"][0]["problem"] == "corrupt" and "image lab" in r["problems"][0]["needed_by"]' || true
rm -rf "$GOLDROOT_SITE" && gr init >/dev/null

# kill -9 at random moments of import and gc: previous refs stay valid with a
# clean fsck, or the new commit is complete.
mkdir -p "$WORK/big"
for d in $(seq 1 30); do
  mkdir -p "$WORK/big/d$d"
  for f in $(seq 1 40); do head -c $((RANDOM * 3)) /dev/urandom > "$WORK/big/d$d/f$f"; done
done
base=$(gr image import "$WORK/v1" --name victim | tail -n1)
old_kept=0; new_made=0
for round in $(seq 1 12); do
  rm -rf "$WORK/big/d$round" && mkdir "$WORK/big/d$round" && echo "round $round" > "$WORK/big/d$round/new"
  "$GOLDROOT" image import "$WORK/big" --name victim >/dev/null 2>&1 &
  pid=$!
  sleep "0.$((RANDOM % 9))$((RANDOM % 10))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  gr image fsck >/dev/null || fail "fsck after kill -9 in round $round"
  now=$(gr image show victim --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["commit"])')
  if [ "$now" != "$base" ]; then
    rm -rf "$WORK/out" && gr image checkout victim "$WORK/out" 2>/dev/null
    diff -r "$WORK/big" "$WORK/out" >/dev/null || fail "round $round: new commit incomplete"
    new_made=$((new_made + 1))
  else
    old_kept=$((old_kept + 1))
  fi
  # and a gc, killed too
  gr image rm victim >/dev/null; gr image import "$WORK/v1" --name keep >/dev/null
  "$GOLDROOT" image gc >/dev/null 2>&1 & pid=$!
  sleep "0.0$((RANDOM % 10))"; kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  gr image fsck >/dev/null || fail "fsck after kill -9 of gc in round $round"
  base=$(gr image import "$WORK/v1" --name victim | tail -n1)
done
ok "kill -9 during import and gc never left a broken store (12 rounds each: $old_kept kept the old commit, $new_made completed)"
finish

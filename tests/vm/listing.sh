# listing.sh DIR: one line per path under DIR, sorted —
#   path|mode (hex, with type)|uid|gid|size|mtime|major:minor|links|sha256 or symlink
# Run with the SAME busybox on the host and in the vm guest, so that two
# listings differ only where the trees do. A file that cannot be read has
# no sha256 (its error goes to stderr).
bb=${BUSYBOX:-busybox}
cd "$1" || exit 1
{
  $bb find . -exec $bb stat -c 'S|%n|%f|%u|%g|%s|%Y|%t:%T|%h' {} +
  $bb find . -type f -exec $bb sha256sum {} + | $bb sed 's/^\([0-9a-f]*\)  /H|\1|/'
  $bb find . -type l -exec $bb stat -c 'L|%n|%N' {} +
} | $bb awk -F'|' '
  $1 == "S" { line[$2] = $3 "|" $4 "|" $5 "|" $6 "|" $7 "|" $8 "|" $9; next }
  $1 == "H" { extra[$3] = $2; next }
  $1 == "L" { key = $2; target = $0; sub(/^[^|]*\|[^|]*\|/, "", target); extra[key] = target; next }
  END { for (p in line) print p "|" line[p] "|" extra[p] }' | $bb sort

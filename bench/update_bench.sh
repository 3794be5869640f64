#!/usr/bin/env bash
# Update benchmark (issue #19): the bytes a client holding one image fetches
# to hold the next, and the client's CPU seconds (user + system, its
# children's included, so a busy machine or `nice` changes little), for
# goldroot and its peers in the same run:
#   goldroot, whole image  goldroot-blockd --prefetch of the new export into
#                          an empty cache (today's full download);
#   goldroot seeding       the new commit exported with `--base` (the old
#                          export's layout kept, and the update patch from
#                          it written beside the image), prefetched into a
#                          cache that holds the old export: blocks seeded
#                          by their hash in the new verity tree, the others
#                          made from the patch (or fetched);
#   casync                 `casync make` of the new image file, `casync
#                          extract --seed=OLD` through HTTP;
#   rsync                  the image file over a local rsync daemon, -z,
#                          the old file as the receiver's basis;
#   zstd patch             `zstd -19 --long=31 --patch-from=OLD`, and its
#                          decompression on the client;
#   apt-get (reference)    the .debs apt-get would download, where the
#                          update is packages.
# All HTTP goes through `goldroot serve-files`, whose access log counts the
# body bytes sent. Every client result is compared with the new image.
# Updates: v1 -> v2 (bench_trees), v1 -> v1 + the bookworm-security updates
# of its packages (the suite from this machine's apt sources; without one,
# the newest versions apt knows), and v1 -> v1 + less. Needs root (dpkg
# --root, apt-get install of the peers); on a shared machine run it under
# `nice -n 19`.
# GOLDROOT_BENCH_V1=DIR: another root tree as v1 (e.g. the demo image's
# debootstrap, /var/cache/goldroot/demo-rootfs); the v1 -> v2 pair, which is
# bench_trees' own, is left out then. GOLDROOT_BENCH_PEERS=no: goldroot
# only (casync, rsync and zstd -19 take minutes on a large image).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
goldroot=${GOLDROOT:-$here/build/bin/goldroot}
blockd=${GOLDROOT_BLOCKD:-$here/build/bin/goldroot-blockd}
cache=${GOLDROOT_BENCH_CACHE:-/var/cache/goldroot}
work=${GOLDROOT_BENCH_WORK:-$here/bench/work-update}
source "$here/bench/lib/bench.sh"
bench_needs_root "dpkg --root, apt-get install of the peers"
peers=${GOLDROOT_BENCH_PEERS:-yes}
if [ "$peers" != no ]; then
  for tool in casync rsync zstd; do
    command -v "$tool" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$tool" >/dev/null
  done
fi
if [ -n "${GOLDROOT_BENCH_V1:-}" ]; then v1=$GOLDROOT_BENCH_V1; v2=; else bench_trees; fi

pids=()
rm -rf "$work"; mkdir -p "$work/www" "$work/client" "$work/debs"
# The servers go first: the rsync daemon logs its exit into $work.
trap 'for pid in ${pids[@]+"${pids[@]}"}; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; done
      [ -n "${KEEP_BENCH_WORK:-}" ] || rm -rf "$work"' EXIT
log=$work/bench.log

# security_suite: the bookworm security suite this machine's apt sources
# name, or nothing.
security_suite() {
  { awk '/^Suites:/ { for (i = 2; i <= NF; i++) print $i }' /etc/apt/sources.list.d/*.sources 2>/dev/null
    awk '$1 == "deb" { print $3 }' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
  } | grep -x 'bookworm-security' | head -n1 || true
}
# upgrades ROOT SUITE: NAME=VERSION for every package installed in ROOT of
# which SUITE (any suite if empty) has a newer version, as `apt-get upgrade`
# would pick from it (which keeps back the kernel's metapackage: its new
# version depends on a new kernel package).
upgrades() {
  local root=$1 suite=$2 name version candidate
  declare -A installed
  while read -r name version; do installed[$name]=$version; done \
    < <(dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package} ${Version}\n')
  # madison: " NAME | VERSION | MIRROR SUITE/COMPONENT ARCH Packages", newest first.
  apt-cache madison "${!installed[@]}" 2>/dev/null |
    awk -F' *[|] *' -v suite="$suite" '{ gsub(/ /, "", $1) }
      (suite == "" || index($3, " " suite "/")) && $1 !~ /^linux-image-[a-z0-9]+$/ && !seen[$1]++ { print $1, $2 }' |
    while read -r name candidate; do
      if dpkg --compare-versions "$candidate" gt "${installed[$name]}"; then echo "$name=$candidate"; fi
    done
}
# install_debs ROOT DIR: dpkg -i every .deb in DIR into ROOT (its maintainer
# scripts run chrooted in ROOT); prints their total size in bytes. A package
# that pre-depends on the new version of another in DIR (libpam-modules on
# libpam-modules-bin) is refused in the first pass, and installed in a
# second one, once that other is configured.
install_debs() {
  local refused
  if ! dpkg --root="$1" -i "$2"/*.deb >"$work/dpkg.log" 2>&1; then
    mapfile -t refused < <(sed -n 's/^dpkg: error processing archive \(.*\.deb\) (--install):$/\1/p' "$work/dpkg.log")
    cat "$work/dpkg.log" >>"$log"
    ((${#refused[@]})) || return 1
    dpkg --root="$1" -i "${refused[@]}" >"$work/dpkg.log" 2>&1
  fi
  cat "$work/dpkg.log" >>"$log"
  du -cb "$2"/*.deb | tail -n1 | cut -f1
}

# v1 + its security updates, as `apt-get upgrade` would leave it.
suite=$(security_suite)
mapfile -t security < <(upgrades "$v1" "$suite")
((${#security[@]})) || { echo "update_bench: apt knows no newer version of any package in v1" >&2; exit 1; }
mkdir "$work/debs/security" "$work/debs/less"
(cd "$work/debs/security" && apt-get download -q "${security[@]}" >>"$log" 2>&1)
cp -a "$v1" "$work/v1-security"
security_debs=$(install_debs "$work/v1-security" "$work/debs/security")
# v1 + less, as layout_bench.sh measures it.
(cd "$work/debs/less" && apt-get download -q less >>"$log" 2>&1)
cp -a "$v1" "$work/v1-less"
less_debs=$(install_debs "$work/v1-less" "$work/debs/less")

# The exports: v1, then each new tree with v1's layout kept, in one site
# (one verity salt, as a real site has).
export GOLDROOT_SITE=$work/site
"$goldroot" init >/dev/null
export_as() {  # NAME TREE [--base v1]: writes www/NAME.erofs, .verity, .json
  "$goldroot" image import "$2" --name "$1" >>"$log" 2>&1
  "$goldroot" image export "$1" "${@:3}" --output "$work/www/$1.erofs" --json >"$work/www/$1.json"
  mv "$work/www/$1.erofs.verity" "$work/www/$1.verity"
}
export_as v1 "$v1"
pairs=(security less)
if [ -n "$v2" ]; then pairs=(v2 "${pairs[@]}"); export_as v2 "$v2" --base v1; fi
export_as security "$work/v1-security" --base v1
export_as less "$work/v1-less" --base v1

http_port=$(free_port)
access=$work/access.log
"$goldroot" serve-files "$work/www" --listen "127.0.0.1:$http_port" --threads 1 --access-log "$access" \
  >>"$log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$http_port/v1.json" && break; sleep 0.1; done
: >"$access"

if [ "$peers" != no ]; then
rsync_port=$(free_port)
cat >"$work/rsyncd.conf" <<CONF
use chroot = no
uid = root
gid = root
[www]
path = $work/www
read only = yes
CONF
rsync --daemon --no-detach --address=127.0.0.1 --port="$rsync_port" --config="$work/rsyncd.conf" \
  --log-file="$work/rsyncd.log" &
pids+=($!)
for _ in $(seq 100); do rsync "rsync://127.0.0.1:$rsync_port/" >/dev/null 2>&1 && break; sleep 0.1; done
fi

# client_cpu COMMAND…: runs COMMAND (a function too); prints its user +
# system seconds, its children's included.
client_cpu() {
  local TIMEFORMAT='%U %S'
  { time "$@" >>"$log" 2>&1; } 2>"$work/time"
  awk '{ printf "%.2f\n", $1 + $2 }' "$work/time"
}
# served COMMAND…: runs COMMAND; prints "CPU-SECONDS BYTES", the body bytes
# the HTTP server sent meanwhile.
served() {
  local before seconds
  before=$(wc -l <"$access")
  seconds=$(client_cpu "$@")
  sleep 0.5  # the server logs a response once it is sent, maybe after the client is done
  echo "$seconds $(awk -v n="$before" -F'"bytes":' 'NR > n { split($2, a, /[,}]/); s += a[1] } END { print s + 0 }' "$access")"
}
json() { python3 -c 'import json, sys; v = json.load(open(sys.argv[1]))
for key in sys.argv[2:]: v = v[key]
print(v)' "$@"; }
# prefetch NAME CACHE-DIR: fills CACHE-DIR (goldroot-blockd creates it) with
# the export NAME.
prefetch() {
  local record=$work/www/$1.json
  "$blockd" --prefetch --cache-dir "$2" \
    --image-url "http://127.0.0.1:$http_port/$1.erofs" --tree-url "http://127.0.0.1:$http_port/$1.verity" \
    --root-hash "$(json "$record" verity root_hash)" --salt "$(json "$record" verity salt)" \
    --data-blocks "$(json "$record" verity data_blocks)" --tree-size "$(json "$record" verity tree_size)" \
    --status "$2.status"
}
# same NAME FILE: FILE is the export NAME, or the bench stops.
same() { cmp -s "$work/www/$1.erofs" "$2" || { echo "update_bench: $2 is not the $1 export" >&2; exit 1; }; }
cached_image() { echo "$1/$(json "$work/www/$2.json" verity root_hash).image"; }

# The client that holds v1: its goldroot cache, and v1 as a file for the peers.
prefetch v1 "$work/client/v1-cache" >>"$log" 2>&1
cp "$work/www/v1.erofs" "$work/client/v1.erofs"

declare -A bytes cpu server tree_fetched patch_fetched patched
for new in "${pairs[@]}"; do
  size=$(stat -c %s "$work/www/$new.erofs")
  c=$work/client/$new
  mkdir "$c"
  read -r cpu[$new,whole] bytes[$new,whole] < <(served prefetch "$new" "$c/empty-cache")
  head -c "$size" "$(cached_image "$c/empty-cache" "$new")" >"$c/whole.erofs"; same "$new" "$c/whole.erofs"

  cp -a "$work/client/v1-cache" "$c/seed-cache"
  read -r cpu[$new,seeding] bytes[$new,seeding] < <(served prefetch "$new" "$c/seed-cache")
  head -c "$size" "$(cached_image "$c/seed-cache" "$new")" >"$c/seeded.erofs"; same "$new" "$c/seeded.erofs"
  bytes[$new,blocks]=$(($(json "$work/www/$new.json" base differing_blocks) * 4096))
  bytes[$new,tree]=$(stat -c %s "$work/www/$new.verity")
  tree_fetched[$new]=$(json "$c/seed-cache.status" tree_fetched_bytes)
  patch_fetched[$new]=$(json "$c/seed-cache.status" patch_fetched_bytes)
  patched[$new]=$(json "$c/seed-cache.status" patched_bytes)
  if [ "$peers" = no ]; then rm -rf "$c"; continue; fi

  start=$(date +%s.%N)
  casync make --store="$work/www/$new.castr" "$work/www/$new.caibx" "$work/www/$new.erofs" >>"$log" 2>&1
  server[$new,casync]=$(echo "$(date +%s.%N) - $start" | bc)
  read -r cpu[$new,casync] bytes[$new,casync] < <(served casync extract \
    --store="http://127.0.0.1:$http_port/$new.castr" --seed="$work/client/v1.erofs" \
    "http://127.0.0.1:$http_port/$new.caibx" "$c/casync.erofs")
  same "$new" "$c/casync.erofs"

  cp "$work/client/v1.erofs" "$c/rsync.erofs"
  cpu[$new,rsync]=$(client_cpu rsync -z --stats "rsync://127.0.0.1:$rsync_port/www/$new.erofs" "$c/rsync.erofs")
  same "$new" "$c/rsync.erofs"
  # The client's own stats: what it received, and the block checksums it sent.
  bytes[$new,rsync]=$(tac "$log" | grep -m1 '^Total bytes received:' | tr -dc 0-9)
  bytes[$new,rsync_sent]=$(tac "$log" | grep -m1 '^Total bytes sent:' | tr -dc 0-9)

  start=$(date +%s.%N)
  zstd -q -f -19 --long=31 --patch-from="$work/www/v1.erofs" "$work/www/$new.erofs" \
    -o "$work/www/$new.patch.zst" >>"$log" 2>&1
  server[$new,zstd]=$(echo "$(date +%s.%N) - $start" | bc)
  bytes[$new,zstd]=$(stat -c %s "$work/www/$new.patch.zst")
  cpu[$new,zstd]=$(client_cpu zstd -q -d --long=31 --patch-from="$work/client/v1.erofs" \
    "$work/www/$new.patch.zst" -o "$c/zstd.erofs")
  same "$new" "$c/zstd.erofs"
  rm -rf "$c"
done

bytes[security,apt]=$security_debs
bytes[less,apt]=$less_debs
declare -A title=([v2]="v1 -> v2 (five packages added, bench_trees)"
  [security]="v1 -> v1 + ${#security[@]} security updates from ${suite:-what apt knows (no security suite)}"
  [less]="v1 -> v1 + less")
methods=(whole seeding casync rsync zstd apt)
declare -A label=([whole]="goldroot, whole image" [seeding]="goldroot seeding (--base)" [casync]="casync extract --seed"
  [rsync]="rsync -z (received)" [zstd]="zstd -19 --patch-from" [apt]="apt-get (the .debs)")
mib() { printf '%.2f' "$(echo "scale=4; $1 / 1048576" | bc)"; }
percent() { printf '%.2f' "$(echo "scale=4; 100 * $1 / $2" | bc)"; }
multiple() { printf '%.2f' "$(echo "scale=4; $1 / $2" | bc)"; }

printf '\nupdate benchmark: what a client holding v1 fetches to hold the new image\n'
for new in "${pairs[@]}"; do
  size=$(stat -c %s "$work/www/$new.erofs")
  printf '\n%s: the new image is %s MiB (%s bytes)\n' "${title[$new]}" "$(mib "$size")" "$size"
  printf '%-28s %12s %9s %10s %13s %14s\n' method bytes MiB "% image" "client CPU s" "vs seeding"
  for method in "${methods[@]}"; do
    [ -n "${bytes[$new,$method]:-}" ] || continue
    printf '%-28s %12s %9s %9s%% %13s %13sx\n' "${label[$method]}" "${bytes[$new,$method]}" \
      "$(mib "${bytes[$new,$method]}")" "$(percent "${bytes[$new,$method]}" "$size")" "${cpu[$new,$method]:--}" \
      "$(multiple "${bytes[$new,$method]}" "${bytes[$new,seeding]}")"
  done
  printf '  seeding: v1 lacks %s bytes of 4 KiB blocks (as the export counts them); the update patch (%s bytes fetched) made %s bytes of blocks, data and hash; %s bytes of the %s-byte verity tree fetched\n' \
    "${bytes[$new,blocks]}" "${patch_fetched[$new]}" "${patched[$new]}" "${tree_fetched[$new]}" "${bytes[$new,tree]}"
  [ "$peers" = no ] ||
    printf '  rsync also sent %s bytes of block checksums; server wall seconds: casync make %.1f, zstd -19 %.1f\n' \
      "${bytes[$new,rsync_sent]}" "${server[$new,casync]}" "${server[$new,zstd]}"
done
printf '\n"vs seeding": bytes over those of goldroot seeding (above 1: seeding fetches less).\n'
printf 'security updates: %s\n' "${security[*]}"

# The issue's goals.
met() { if [ "$(echo "$1" | bc)" = 1 ]; then echo met; else echo "NOT met"; fi; }
size=$(stat -c %s "$work/www/security.erofs")
printf '\ngoal: a security update fetches <= 3%% of the image: %s%% — %s\n' \
  "$(percent "${bytes[security,seeding]}" "$size")" "$(met "${bytes[security,seeding]} * 100 <= 3 * $size")"
printf 'goal: adding one small package (less) fetches <= 1.5x its .deb (%s bytes, its files compressed): %sx — %s\n' \
  "$less_debs" "$(multiple "${bytes[less,seeding]}" "$less_debs")" "$(met "${bytes[less,seeding]} * 2 <= 3 * $less_debs")"
printf '  (the blocks alone, without the verity tree: %sx)\n' "$(multiple "${bytes[less,blocks]}" "$less_debs")"
for new in "${pairs[@]}"; do
  printf 'goal: client CPU < 5 s, %s: %s s — %s\n' "$new" "${cpu[$new,seeding]}" "$(met "${cpu[$new,seeding]} < 5")"
done

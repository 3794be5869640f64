#!/usr/bin/env bash
# Benchmark: rendering hosts' configuration layers.
#   - a layer tree of 500 files (base, 2 networks, 4 labs, host and IP
#     layers; 20 of them templates) and 200 hosts in 4 labs;
#   - `goldroot layer render HOST` (one process per host, as the boot server
#     or an admin would run it; includes opening the inventory);
#   - `goldroot layer render --all` (200 hosts in one process), as a
#     directory tree (also with --sync: one syncfs of the filesystem at the
#     end, which on a shared machine also flushes others' writes) and as tar;
#   - peer, measured in the same run: rsync -a of the same layers in order
#     into a fresh directory (how layered config is often copied today; it
#     renders no templates and knows no deletions).
# Prints ms per host and the ratio to the peer. Goal: under 20 ms per host.
# Usage: bench/layer_bench.sh [path/to/goldroot]   (default build/bin/goldroot)
set -euo pipefail
cd "$(dirname "$0")/.."
GOLDROOT=$(realpath "${1:-build/bin/goldroot}")
command -v rsync >/dev/null || { echo "bench needs rsync (scripts/setup.sh installs it)"; exit 1; }
mkdir -p bench/work
work=$(mktemp -d "$PWD/bench/work/layer.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GOLDROOT_SITE=$work/site
g() { "$GOLDROOT" "$@"; }
now_ns() { date +%s%N; }

g init >/dev/null
g network add 10.1.0.0/24 --gateway 10.1.0.1 --dns 10.1.0.2 --domain north.example.edu >/dev/null
g network add 10.2.0.0/23 --gateway 10.2.0.1 --dns 10.2.0.2 --domain south.example.edu >/dev/null
for lab in 1 2; do g lab add lab$lab --network 10.1.0.0/24 >/dev/null; done
for lab in 3 4; do g lab add lab$lab --network 10.2.0.0/23 >/dev/null; done
{
  echo "name,mac,ip,lab"
  for lab in 1 2 3 4; do
    for index in $(seq 1 50); do
      case $lab in 1) ip=10.1.0.$((index)) ;; 2) ip=10.1.0.$((100 + index)) ;;
        3) ip=10.2.0.$((index)) ;; 4) ip=10.2.1.$((index)) ;; esac
      printf 'lab%d-pc%02d,52:54:00:%02x:00:%02x,%s,lab%d\n' $lab $index $lab $index $ip $lab
    done
  done
} > "$work/hosts.csv"
g host import "$work/hosts.csv" >/dev/null

# 500 files: base 300 (20 templates), networks 2x25, labs 4x25, hosts 40,
# ips 10. Sizes 200 B to 4 KiB.
L=$GOLDROOT_SITE/layers
files=0
make_files() {  # dir count prefix
  local dir=$1 count=$2 prefix=$3
  for i in $(seq 1 "$count"); do
    local sub="$dir/etc/$prefix$((i % 10))"
    mkdir -p "$sub"
    head -c $((200 + (i * 397) % 3900)) /dev/urandom | base64 > "$sub/file$i.conf"
    files=$((files + 1))
  done
}
make_files "$L/base" 280 app
for i in $(seq 1 20); do
  mkdir -p "$L/base/etc/templated"
  printf '# %d\nhost {{ hostname }} ({{ fqdn }})\naddress {{ ip }}/{{ prefix }} via {{ gateway }}\nlab {{ lab }} mac {{ mac }}\n' \
    "$i" > "$L/base/etc/templated/t$i.conf.tmpl"
  files=$((files + 1))
done
make_files "$L/networks/10.1.0.0_24" 25 net
make_files "$L/networks/10.2.0.0_23" 25 net
for lab in 1 2 3 4; do make_files "$L/labs/lab$lab" 25 lab; done
for lab in 1 2 3 4; do for index in 01 02 03 04 05 06 07 08 09 10; do
  make_files "$L/hosts/lab$lab-pc$index" 1 host
done; done
for ip in 10.1.0.1 10.1.0.2 10.1.0.3 10.1.0.101 10.1.0.102 10.2.0.1 10.2.0.2 10.2.1.1 10.2.1.2 10.2.1.3; do
  make_files "$L/ips/$ip" 1 ip
done
echo "layer tree: $files files; 200 hosts in 4 labs on 2 networks"

one_host=lab1-pc01  # base + network + lab + host + ip layers: the deepest stack
runs=20
# measure COMMAND…: sets wall_us and cpu_us (user+sys of all processes).
measure() {
  local before after
  before=$(cpu_ticks)
  local start; start=$(now_ns)
  "$@"
  wall_us=$(( ($(now_ns) - start) / 1000 ))
  after=$(cpu_ticks)
  cpu_us=$(( (after - before) * 1000000 / $(getconf CLK_TCK) ))
}
# user+sys ticks of the main shell's finished children (cutime, cstime).
cpu_ticks() { local f; read -ra f < /proc/$$/stat; echo $(( f[15] + f[16] )); }

render_one_dir() { for run in $(seq 1 $runs); do g layer render $one_host --output "$work/one-$run" >/dev/null; done; }
render_one_tar() { for run in $(seq 1 $runs); do g layer render $one_host --output "$work/one-$run.tar" >/dev/null; done; }
render_all_dir() { g layer render --all --output "$work/all" >/dev/null; }
render_all_dir_sync() { g layer render --all --sync --output "$work/all-sync" >/dev/null; }
render_all_tar() { g layer render --all --format tar --output "$work/all-tar" >/dev/null; }

# Peer: rsync the same layers, in order, into a fresh directory per host.
layers_of() {  # lab ip host -> existing layer dirs
  local lab=$1 ip=$2 host=$3 net
  case $ip in 10.1.*) net=10.1.0.0_24 ;; *) net=10.2.0.0_23 ;; esac
  for dir in "$L/base" "$L/networks/$net" "$L/labs/$lab" "$L/hosts/$host" "$L/ips/$ip"; do
    [ -d "$dir" ] && echo "$dir/"
  done
  return 0
}
peer_one() {
  for run in $(seq 1 $runs); do
    mkdir "$work/peer-one-$run"
    rsync -a $(layers_of lab1 10.1.0.1 $one_host) "$work/peer-one-$run/"
  done
}
peer_all() {
  tail -n +2 "$work/hosts.csv" | while IFS=, read -r name mac ip lab; do
    mkdir "$work/peer-$name"
    rsync -a $(layers_of "$lab" "$ip" "$name") "$work/peer-$name/"
  done
}

ms() { printf '%d.%02d' $(($1 / 1000)) $((($1 % 1000) / 10)); }
ratio() { printf '%d.%02d' $(($1 / $2)) $(((($1 * 100) / $2) % 100)); }
report() {  # label hosts [peer_wall_us]
  local per_wall=$((wall_us / $2)) per_cpu=$((cpu_us / $2))
  printf '  %-40s %8s ms/host wall %8s ms/host cpu' "$1" "$(ms $per_wall)" "$(ms $per_cpu)"
  [ -n "${3:-}" ] && printf '   (wall ratio goldroot/rsync %s)' "$(ratio $per_wall $3)"
  echo
}

measure peer_one; peer_one_us=$((wall_us / runs))
measure peer_all; peer_all_us=$((wall_us / 200))
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
measure render_one_dir
entries=$(find "$work/one-1" -type f | wc -l)
echo "one host ($one_host: 5 layers, 20 templates, $entries files out; one process per render):"
report "goldroot layer render -> dir" $runs $peer_one_us
one_dir_us=$((wall_us / runs))
measure render_one_tar
report "goldroot layer render -> tar" $runs $peer_one_us
rm -rf "$work"/peer-one-*
measure peer_one
report "peer: rsync -a of the layers" $runs
echo "all 200 hosts (one process):"
measure render_all_dir
report "goldroot layer render --all dir" 200 $peer_all_us
all_dir_us=$((wall_us / 200))
measure render_all_dir_sync
report "goldroot layer render --all --sync dir" 200 $peer_all_us
measure render_all_tar
report "goldroot layer render --all tar" 200 $peer_all_us
rm -rf "$work"/peer-*
measure peer_all
report "peer: rsync -a per host" 200
goal=20000
if [ "$all_dir_us" -lt $goal ] && [ "$one_dir_us" -lt $goal ]; then
  echo "goal < 20 ms/host (wall): met"
else
  echo "goal < 20 ms/host (wall): not met on this run"
fi

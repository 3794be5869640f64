# Sourced by the benches, after they set `here` (the checkout) and `cache`.
# Timing helpers that every bench shares, and the v1 -> v2 debootstrap pair
# that the store, change-tracking and capture benches compare on.

# bench_needs_root WHY: the benches drop caches and mount.
bench_needs_root() { [ "$(id -u)" = 0 ] || { echo "bench needs root ($1)" >&2; exit 1; }; }
# cold: the next command starts with an empty page cache.
cold() { sync; echo 3 > /proc/sys/vm/drop_caches; }
# ratio PEER GOLDROOT: how many times faster goldroot was.
ratio() { echo "scale=2; $1 / $2" | bc; }
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# bench_trees: builds the pair once (cached under $cache) and sets v1, v2.
#   v1 = bookworm minbase; v2 = v1 + less vim-tiny ca-certificates procps iproute2
bench_trees() {
  v1="$cache/bench-v1"; v2="$cache/bench-v2"
  "$here/scripts/build-rootfs.sh" "$v1"
  "$here/scripts/build-rootfs.sh" "$v2" less vim-tiny ca-certificates procps iproute2
}

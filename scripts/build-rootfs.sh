#!/usr/bin/env bash
# build-rootfs.sh DEST [PACKAGE…]: a Debian bookworm minbase tree in DEST
# (debootstrap, mirror from this machine's apt sources), with PACKAGEs added
# and apt's caches and lists removed. Reuses DEST if it is already complete.
set -euo pipefail
source "$(dirname "$0")/lib/mirror.sh"
dest=$1; shift
packages=("$@")
stamp="$dest.stamp"
want="minbase ${packages[*]}"
mkdir -p "$(dirname "$dest")"
# The e2e tests run in parallel and share the cache: one builds, the others wait.
exec {lock}>"$dest.lock"
flock "$lock"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
rm -rf "$dest" "$stamp"
mkdir -p "$(dirname "$dest")"
mirror=$(debian_mirror)
include=()
if ((${#packages[@]})); then include=(--include="$(IFS=,; echo "${packages[*]}")"); fi
debootstrap --variant=minbase "${include[@]}" bookworm "$dest" "$mirror" >"$dest.log" 2>&1 ||
  { tail -20 "$dest.log" >&2; exit 1; }
rm -rf "$dest"/var/cache/apt/* "$dest"/var/lib/apt/lists/*
echo "$want" > "$stamp"

#!/usr/bin/env bash
# The on-demand daemon's fetch unit: bytes fetched, requests and time for a
# boot-like read pattern at 4/16/64/256 KiB units, and keep-alive against a
# new connection per Range request (bench/blockd_fetch_units.cc says how).
#
# Usage: bench/blockd_fetch_units.sh [--size-mb N] [--pattern FILE] [--threads N]
# Environment: BUILD (the build directory, default build).
set -euo pipefail
source_dir="$(cd "$(dirname "$0")/.." && pwd)"
binary="${BUILD:-$source_dir/build}/bin/blockd_fetch_units"
[[ -x "$binary" ]] || { echo "blockd_fetch_units: build it first (ninja -C build blockd_fetch_units)"; exit 1; }
exec "$binary" "$@"

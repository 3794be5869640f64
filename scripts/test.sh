#!/usr/bin/env bash
# Sets up the machine, builds, and runs every test tier:
#   unit  fast, unprivileged
#   root  real overlayfs, loop devices, mounts, network namespaces (needs root)
#   e2e   QEMU clients that PXE-boot (needs root; slow)
# Pass a label to run one tier only, e.g. `scripts/test.sh unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
labels="${1:-unit|root|e2e}"
if [ "$(id -u)" = 0 ]; then
  # As root every tier must really run: a missing requirement fails the test.
  export GOLDROOT_REQUIRE_ALL=1
fi
cd build
ctest -L "$labels" --output-on-failure -j2 --timeout 1800

#!/usr/bin/env bash
# Sets up the machine, builds, and runs every test tier:
#   unit  fast, unprivileged
#   root  real overlayfs, loop devices, mounts, network namespaces (needs root)
#   e2e   QEMU clients that PXE-boot (needs root; slow)
#   vm    a QEMU guest booted on the image's own kernel, for what this
#         machine's kernel lacks: NBD and device-mapper (needs root; ~30 s)
#   sanitize  the threaded and parsing code's tests again, built with
#         ThreadSanitizer and with AddressSanitizer + UBSan (build-tsan/,
#         build-asan/: only the test binaries that need them); any report fails
#   fuzz  libFuzzer targets for the parsers that take bytes from the network
#         or a client (scripts/fuzz.sh), 20 s each: a ctest test of its own
#         (fuzz.targets), which runs beside the QEMU labs
# Pass a label to run one tier only, e.g. `scripts/test.sh unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
labels="${1:-unit|root|e2e|vm|sanitize|fuzz}"
if [ "$(id -u)" = 0 ]; then
  # As root every tier must really run: a missing requirement fails the test.
  export GOLDROOT_REQUIRE_ALL=1
fi

# sanitize TREE FLAGS TEST_BINARY...: builds the binaries with -fsanitize=FLAGS
# and runs each; a sanitizer report makes it exit non-zero, and the run fail.
sanitize() {
  local tree=$1 flags=$2 binary
  shift 2
  # clang at -O0 with line tables (-g1): reports keep their file:line
  # stacks, and a tree builds in half the time g++ -O1 takes (5 minutes
  # instead of 11 for the AddressSanitizer tree); libFuzzer is clang's too.
  CXX=clang++ cmake -S . -B "$tree" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DGOLDROOT_SANITIZE="$flags" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -g1" >/dev/null
  ninja -C "$tree" "$@"
  for binary in "$@"; do
    echo "sanitize ($flags): $binary"
    "$tree/bin/$binary" --gtest_brief=1
  done
}
# took WHAT: how long the step since the last call took (for CI's budget).
step_start=0
took() { echo "test.sh: $1 took $((SECONDS - step_start)) s"; step_start=$SECONDS; }
took "setup and build"
if [[ "|$labels|" == *"|sanitize|"* ]]; then
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
  export ASAN_OPTIONS="detect_leaks=1 abort_on_error=0"
  export UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1"
  # The two trees build and run side by side (one's tests run while the
  # other compiles); each writes its log, shown when both are done.
  mkdir -p build-tsan build-asan
  # ThreadSanitizer: the code that runs on several threads (import and
  # checkout's parallel walks, the overlay readers, the HTTP server's event
  # loops and blocking pool, goldroot-blockd's fetching, cache and fill
  # threads), unit and root tier.
  sanitize build-tsan thread image_test server_test base_test overlay_test overlay_root_test \
    blockd_test >build-tsan/sanitize.log 2>&1 &
  tsan=$!
  # AddressSanitizer + UBSan: the parsers and everything that touches bytes
  # from a client or a file (HTTP, reports, manifests, host signatures and
  # challenges, tar and EROFS, the store, layers, the inventory, update
  # patches), unit and root tier.
  sanitize build-asan address,undefined base_test server_test report_test crypto_test image_test \
    store_test layer_test fleet_test netboot_test manifest_test bootserver_test overlay_root_test \
    image_root_test verity_test >build-asan/sanitize.log 2>&1 &
  asan=$!
  failed=0
  for tree in tsan asan; do
    if wait "${!tree}"; then
      grep -v '^\[[0-9]*/[0-9]*\] ' "build-$tree/sanitize.log"
    else
      failed=1
      echo "sanitize: the $tree tree failed; the end of build-$tree/sanitize.log:"
      tail -60 "build-$tree/sanitize.log"
    fi
  done
  ((failed == 0)) || exit 1
  took "the sanitize tier (both trees built and run)"
  labels=${labels//sanitize/}
fi
cd build
labels=$(echo "$labels" | sed 's/||*/|/g; s/^|//; s/|$//')
[ -n "$labels" ] || exit 0
ctest -L "$labels" --output-on-failure -j2 --timeout 1800
took "ctest ($labels)"

#!/usr/bin/env bash
# Builds goldroot's libFuzzer targets (fuzz/*_fuzz.cc) with clang under
# AddressSanitizer and UBSan into build-fuzz/, and runs each for
# FUZZ_SECONDS (default 60) from its seed corpus in fuzz/corpus/NAME.
# A crash, a leak or a sanitizer report fails the run; every target still
# runs, and the failures are listed at the end. FUZZ_JOBS targets at a time
# (default 2, each on one core). ctest runs it as the test fuzz.targets
# (label `fuzz`, one at a time, beside the QEMU labs); `scripts/fuzz.sh
# NAME...` runs only those.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
out=build-fuzz
mkdir -p "$out"
flags=(-std=gnu++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=all -Isrc)
base=(src/base/strings.cc src/base/result.cc src/base/hash.cc src/base/json.cc)
declare -A sources=(
  [http_request]="src/server/http_request.cc src/server/request_path.cc src/server/byte_range.cc"
  [body_decoder]="src/server/body_decoder.cc src/server/http_request.cc src/server/request_path.cc"
  [kernel_cmdline]="src/boot/kernel_cmdline.cc"
  [report]="src/report/report.cc"
  [manifest]="src/manifest/boot_manifest.cc src/crypto/ed25519.cc src/crypto/base64.cc src/verity/hash_tree.cc"
  [layer_tar]="src/boot/layer_tar.cc"
  # upper_tree.cc needs split_relative_path (tree_builder.cc), which brings
  # the object store (object_store.cc, commit.cc, sys/env.cc) to the link.
  [upper_archive]="src/overlay/upper_unpack.cc src/sys/lazy_libarchive.cc src/image/fs_entry.cc
                   src/overlay/upper_tree.cc src/overlay/conventions.cc src/overlay/reset.cc
                   src/overlay/ignore_list.cc src/base/parallel.cc src/sys/directory.cc
                   src/sys/open_beneath.cc src/store/tree.cc src/image/tree_builder.cc
                   src/store/object_store.cc src/store/commit.cc src/sys/env.cc"
  [template]="src/layer/template.cc"
  [host_import]="src/fleet/import_parsers.cc src/fleet/names.cc src/net/address.cc"
  [update_patch]="src/verity/update_patch.cc"
)
# Beyond -lfmt -lcrypto. lazy_libarchive.cc dlopens libarchive.so.13 on
# first use (libarchive13, which libarchive-dev brings; its headers too).
declare -A libraries=(
  [upper_archive]="-ldl"
  [update_patch]="-lzstd"
)
# These unpack archives as root, in a chroot'ed tmpfs of their own mount
# namespace (see their headers).
declare -A needs_root=([layer_tar]=1 [upper_archive]=1)

# fuzz_target NAME: builds and runs one target; its output goes to
# $out/NAME.out, and a failure leaves $out/NAME.failed.
fuzz_target() {
  local name=$1 binary="$out/${1}_fuzz" corpus="$out/corpus/$1" status=0
  rm -f "$out/$name.failed"
  # shellcheck disable=SC2086
  clang++ "${flags[@]}" "fuzz/${name}_fuzz.cc" ${sources[$name]} "${base[@]}" -o "$binary" \
    -lfmt -lcrypto ${libraries[$name]:-} || { touch "$out/$name.failed"; return; }
  mkdir -p "$corpus"
  echo "fuzz: $name for ${seconds}s"
  # The artifact prefix stays relative: the archive targets crash on a
  # chroot'ed thread, which resolves absolute paths inside its jail.
  "$binary" -max_total_time="$seconds" -print_final_stats=1 -detect_leaks=1 -artifact_prefix="$out/" \
    "$corpus" "fuzz/corpus/$name" > "$out/$name.log" 2>&1 || status=$?
  grep -E "^stat::number_of_executed_units|ERROR|^SUMMARY" "$out/$name.log" || true
  if [ "$status" != 0 ]; then
    echo "fuzz: $name failed (exit $status); its log: $out/$name.log"
    tail -40 "$out/$name.log"
    touch "$out/$name.failed"
  fi
}

jobs=${FUZZ_JOBS:-2}
targets=("${@:-${!sources[@]}}")
failed=()
running=0
for name in "${targets[@]}"; do
  if [ -z "${sources[$name]+set}" ]; then
    echo "fuzz: no target $name (targets: ${!sources[*]})" >&2
    failed+=("$name")
    continue
  fi
  if [ -n "${needs_root[$name]+set}" ] && [ "$(id -u)" != 0 ]; then
    echo "fuzz: $name needs root (mount namespace, chroot, mknod): not run" >&2
    [ -n "${GOLDROOT_REQUIRE_ALL:-}" ] && failed+=("$name")
    continue
  fi
  if ((running >= jobs)); then wait -n || true; running=$((running - 1)); fi
  fuzz_target "$name" >"$out/$name.out" 2>&1 &
  running=$((running + 1))
done
wait || true
for name in "${targets[@]}"; do
  [ -f "$out/$name.out" ] && cat "$out/$name.out"
  [ -f "$out/$name.failed" ] && failed+=("$name")
done
if ((${#failed[@]})); then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi

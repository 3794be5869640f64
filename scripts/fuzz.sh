#!/usr/bin/env bash
# Builds goldroot's libFuzzer targets (fuzz/*_fuzz.cc) with clang under
# AddressSanitizer and UBSan into build-fuzz/, and runs each for
# FUZZ_SECONDS (default 60) from its seed corpus in fuzz/corpus/NAME.
# A crash, a leak or a sanitizer report fails the run. Run by scripts/test.sh
# (label `fuzz`); `scripts/fuzz.sh NAME` runs one target.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
out=build-fuzz
mkdir -p "$out"
flags=(-std=gnu++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=all -Isrc)
base=(src/base/strings.cc src/base/result.cc src/base/hash.cc)
declare -A sources=(
  [http_request]="src/server/http_request.cc src/server/request_path.cc src/server/byte_range.cc"
  [body_decoder]="src/server/body_decoder.cc src/server/http_request.cc src/server/request_path.cc"
  [kernel_cmdline]="src/boot/kernel_cmdline.cc"
  [report]="src/report/report.cc"
)
targets=("${@:-${!sources[@]}}")
for name in "${targets[@]}"; do
  binary="$out/${name}_fuzz"
  # shellcheck disable=SC2086
  clang++ "${flags[@]}" "fuzz/${name}_fuzz.cc" ${sources[$name]} "${base[@]}" -o "$binary" -lfmt -lcrypto
  corpus="$out/corpus/$name"
  mkdir -p "$corpus"
  echo "fuzz: $name for ${seconds}s"
  status=0
  "$binary" -max_total_time="$seconds" -print_final_stats=1 -detect_leaks=1 -artifact_prefix="$out/" \
    "$corpus" "fuzz/corpus/$name" > "$out/$name.log" 2>&1 || status=$?
  grep -E "^stat::number_of_executed_units|ERROR|^SUMMARY" "$out/$name.log" || true
  if [ "$status" != 0 ]; then
    echo "fuzz: $name failed (exit $status); its log: $out/$name.log" >&2
    tail -40 "$out/$name.log" >&2
    exit 1
  fi
done

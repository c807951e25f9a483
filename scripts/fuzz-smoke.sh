#!/usr/bin/env bash
# Smoke-runs every libFuzzer target of the asan build for a few seconds each,
# starting from the seeds in fuzz/corpus/<target>/ when present. Fails on any
# crash, leak, timeout or sanitizer report.
# Usage: scripts/fuzz-smoke.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/asan}
seconds=${2:-${FUZZ_SECONDS:-10}}
# The ticket decoder's smoke run is 20 s (issue 2); others use $seconds.
declare -A per_target=([fuzz_ticket]=20)
shopt -s nullglob
targets=("$build"/fuzz/fuzz_*)
if [ "${#targets[@]}" -eq 0 ]; then
  echo "fuzz-smoke: no fuzz targets in $build/fuzz" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
for t in "${targets[@]}"; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  corpus="$work/$name"
  mkdir -p "$corpus"
  seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds=("fuzz/corpus/$name")
  secs=${per_target[$name]:-$seconds}
  [ "$secs" -lt "$seconds" ] && secs=$seconds
  if "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$work/$name-" "$corpus" "${seeds[@]}" >"$work/$name.log" 2>&1; then
    runs=$(grep -oE '#[0-9]+' "$work/$name.log" | tail -1)
    echo "fuzz-smoke: $name ok (${runs:-?} runs in ${secs}s)"
    passed=$((passed + 1))
  else
    echo "fuzz-smoke: $name FAILED; last lines:" >&2
    tail -30 "$work/$name.log" >&2
    mkdir -p build/fuzz-artifacts && cp "$work/$name"-* build/fuzz-artifacts/ 2>/dev/null || true
    failed=$((failed + 1))
  fi
done
echo "fuzz-smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

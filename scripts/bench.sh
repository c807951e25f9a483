#!/usr/bin/env bash
# Runs every benchmark: each area's bench/<area>.sh (which measures vudo and the
# reference peer in the same run and prints ratios). See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
ran=0
for b in bench/*.sh; do
  echo "== $b"
  bash "$b"
  ran=$((ran + 1))
done
[ "$ran" -gt 0 ] || echo "bench: no benchmarks yet"

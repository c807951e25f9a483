#!/usr/bin/env bash
# Automerge engine on the automerge-paper trace: vudo vs automerge-js 3.5 in
# the same run. Prints both figures and the ratios (see docs/automerge.md).
# Env: BENCH_BIN (default build/release/bench/bench_automerge), REPEAT (1).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BENCH_BIN:-build/release/bench/bench_automerge}
if [ ! -x "$bin" ]; then
  echo "automerge: $bin missing (build the release preset first)" >&2
  exit 1
fi
BENCH_BIN=$bin node bench/automerge_js.js

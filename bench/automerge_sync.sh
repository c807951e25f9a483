#!/usr/bin/env bash
# Automerge sync: vudo<->vudo vs automerge-js<->automerge-js on the same
# documents, same run. Prints time ratios and bytes on the wire.
# Env: BENCH_BIN (default build/release/bench/bench_automerge_sync),
# VUDO_BENCH_CACHE (generated documents, default build/bench-data), REPEAT.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BENCH_BIN:-build/release/bench/bench_automerge_sync}
if [ ! -x "$bin" ]; then
  echo "automerge_sync: $bin missing (build the release preset first)" >&2
  exit 1
fi
BENCH_BIN=$bin node bench/automerge_sync.js

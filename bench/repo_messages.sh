#!/usr/bin/env bash
# automerge-repo message codec: vudo vs automerge-repo's cbor helper, same
# messages, same run. Prints per-pass times and ratios.
# Env: BENCH_BIN (default build/release/bench/bench_repo_messages), REPEAT.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BENCH_BIN:-build/release/bench/bench_repo_messages}
if [ ! -x "$bin" ]; then
  echo "repo_messages: $bin missing (build the release preset first)" >&2
  exit 1
fi
BENCH_BIN=$bin node bench/repo_messages.js

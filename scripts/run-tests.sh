#!/usr/bin/env bash
# Runs every test the report lists: the multi-node integration tests and
# each network scenario that exists (vudo test --scenario S1..S6).
set -euo pipefail
cd "$(dirname "$0")/.."
vudo=build/release/src/cli/vudo
VUDO_BIN=$PWD/$vudo node --test --test-concurrency=1 tests/integration/
if $vudo test --help >/dev/null 2>&1; then
  for s in S1 S2 S3 S4 S5 S6; do
    if $vudo test --list 2>/dev/null | grep -qx "$s"; then
      $vudo test --scenario "$s"
    fi
  done
fi

#!/usr/bin/env bash
# The main job, run by `make demo`: two nodes on loopback sync a TodoApp.
set -euo pipefail
cd "$(dirname "$0")/.."
VUDO_BIN=${VUDO_BIN:-$PWD/build/release/src/cli/vudo} exec node scripts/demo.js

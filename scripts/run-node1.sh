#!/usr/bin/env bash
# Starts the first node of the report's walkthrough (S1): name node1, UDP port
# 9001 unless PORT is set. It prints its ticket and todo document URL; give
# them to run-node2.sh. Type `add TEXT`, `toggle N`, `list`, `peers`, `quit`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec build/release/src/cli/vudo start --name "${NAME:-node1}" --port "${PORT:-9001}" --stdin "$@"

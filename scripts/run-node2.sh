#!/usr/bin/env bash
# Starts the second node and connects it to the first:
#   scripts/run-node2.sh TICKET [DOC_URL]
# Without DOC_URL it adopts the todo document node1 shares.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
  echo "usage: $0 TICKET [DOC_URL]   (node1's ticket, printed by run-node1.sh)" >&2
  exit 2
fi
ticket=$1
shift
doc=()
if [ $# -gt 0 ] && [[ $1 == automerge:* ]]; then
  doc=(--doc "$1")
  shift
fi
exec build/release/src/cli/vudo start --name "${NAME:-node2}" --port "${PORT:-9002}" \
  --connect "$ticket" "${doc[@]}" --stdin "$@"

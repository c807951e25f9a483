#!/usr/bin/env bash
# The main job, run by `make demo`. It grows with the project: today it shows
# node identities and iroh-compatible tickets; the two-node TodoApp sync joins
# it with the node layer (issue 6).
set -euo pipefail
cd "$(dirname "$0")/.."
vudo=build/release/src/cli/vudo
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== two node identities (Ed25519; kept in each node's data dir, mode 0600)"
a=$($vudo id --data-dir "$work/alice")
b=$($vudo id --data-dir "$work/bob")
echo "alice: $a"
echo "bob:   $b"
echo
echo "== alice's ticket (an iroh 1.0 EndpointTicket) and its decoded fields"
t=$($vudo ticket --data-dir "$work/alice" --addr 127.0.0.1:4433 --addr '[::1]:4433' --relay http://relay.example)
echo "$t"
$vudo ticket decode "$t"
if $vudo doc --help >/dev/null 2>&1 && [ -d ../shared/testdata/automerge/corpus ]; then
  echo
  echo "== an Automerge document written by automerge-js, read by vudo"
  $vudo doc inspect ../shared/testdata/automerge/vectors/bin/todo.automerge 2>/dev/null | head -c 600 || true
  echo
fi

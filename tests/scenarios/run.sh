#!/usr/bin/env bash
# Runs every network scenario that `vudo test --list` names (S1, S6, ...),
# each in its own netlab run with real vudo nodes; see docs/scenarios.md.
#
#   tests/scenarios/run.sh [VUDO_BIN]     (default build/release/src/cli/vudo)
#
# Needs root (network namespaces): without it, says so loudly and exits 77.
# Each scenario is bounded by `timeout` (SIGTERM makes vudo test tear its
# lab down; SIGKILL 30 s later if it does not). The JSON result of each run
# is kept in $SCENARIO_RESULTS (default build/scenarios/) for docs and CI.
# Exit status: 0 when every scenario passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/../.."
vudo=${1:-${VUDO_BIN:-build/release/src/cli/vudo}}
results=${SCENARIO_RESULTS:-build/scenarios}

if [ "$(id -u)" -ne 0 ]; then
  echo "scenarios: SKIPPED LOUDLY: need root to create network namespaces" >&2
  exit 77
fi
[ -x "$vudo" ] || { echo "scenarios: no vudo binary at $vudo" >&2; exit 1; }
mkdir -p "$results"

scenarios=$("$vudo" test --list) || { echo "scenarios: vudo test --list failed" >&2; exit 1; }
failed=()
for s in $scenarios; do
  echo "=== scenario $s"
  out="$results/$s.json"
  timeout -k 30 180 "$vudo" test --scenario "$s" --json >"$out"
  status=$?
  # The human table from the same JSON (one run, two views).
  python3 - "$out" <<'EOF' || cat "$out"
import json, sys
d = json.load(open(sys.argv[1]))
def ms(v): return "n/a" if v is None else f"{v:.1f} ms"
print(f"{d['scenario']}: {d['title']}  ({d['topology']})")
print(f"  connection time    {ms(d.get('connection_time_ms'))}")
print(f"  sync latency       {ms(d.get('sync_latency_ms'))}")
tp = d.get('throughput_mb_s')
print(f"  throughput         {'n/a' if tp is None else f'{tp:.2f} MB/s'}")
print(f"  reconnection time  {ms(d.get('reconnection_time_ms'))}")
print(f"  data integrity     {d.get('data_integrity', 'n/a')}")
print(f"  CRDT convergence   {d.get('convergence', 'n/a')}")
for c in d.get('checks', []):
    print(f"    {'ok  ' if c['ok'] else 'FAIL'} {c['name']}" + (f" ({c['detail']})" if c['detail'] else ""))
for t in d.get('targets', []):
    print(f"    {'met ' if t['met'] else 'MISS'} {t['name']} ({t['value']})")
if 'error' in d: print(f"    error: {d['error']}")
if 'logs' in d: print(f"    logs: {d['logs']}")
print(f"  status             {d['status']}  ({d.get('duration_s')} s)")
EOF
  case $status in
    0) ;;
    77) echo "scenario $s: SKIPPED LOUDLY (see above)" ;;
    124 | 137) echo "scenario $s: TIMED OUT"; failed+=("$s") ;;
    *) failed+=("$s") ;;
  esac
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "scenarios FAILED: ${failed[*]}"
  exit 1
fi
echo "scenarios: all passed ($(echo $scenarios | tr '\n' ' '))"

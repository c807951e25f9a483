#!/usr/bin/env bash
# A/B of two vudo binaries on loopback, alternating so that both see the same
# host load: per round and binary, one 1 GiB bulk transfer (throughput, CPU
# per GiB of sender and receiver) and 200 fresh connections + 200 echoes.
# Usage: bench/net_ab.sh OLD_VUDO NEW_VUDO [ROUNDS]
set -euo pipefail
old=${1:?old vudo binary}
new=${2:?new vudo binary}
rounds=${3:-3}
work=$(mktemp -d)
LP=
trap 'if [ -n "$LP" ]; then kill "$LP" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
listen() {  # binary, extra args...; sets LP and T
  local bin=$1
  shift
  rm -f "$work/listen"
  "$bin" net listen --bind 127.0.0.1 --alpn ab/1 "$@" >"$work/listen" 2>/dev/null &
  LP=$!
  for _ in $(seq 50); do [ -s "$work/listen" ] && break; sleep 0.05; done
  T=$(head -1 "$work/listen")
}
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # clock ticks
for round in $(seq "$rounds"); do
  for tag in old new; do
    bin=$old
    [ "$tag" = new ] && bin=$new
    listen "$bin"
    c0=$(cpu_of "$LP")
    /usr/bin/time -f "%U %S" -o "$work/time" \
      "$bin" net bench "$T" --alpn ab/1 --bytes $((1 << 30)) >"$work/bench"
    c1=$(cpu_of "$LP")
    kill "$LP"
    listen "$bin" --echo
    "$bin" net ping "$T" --alpn ab/1 --count 200 >"$work/ping"
    kill "$LP"
    python3 - "$tag" "$round" "$work" "$c0" "$c1" <<'PY'
import json, sys
tag, rnd, work, c0, c1 = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
b = json.load(open(work + "/bench"))
p = json.load(open(work + "/ping"))
u, s = map(float, open(work + "/time").read().split()[-2:])
print(json.dumps({"round": int(rnd), "binary": tag, "bulk_gib_per_s": round(b["gib_per_s"], 3),
                  "sender_cpu_s_per_gib": round(u + s, 3),
                  "receiver_cpu_s_per_gib": round((c1 - c0) / 100, 3),
                  "connect_ms": round(p["connect_ms"], 3),
                  "handshake_ms": round(p["handshake_ms"], 3) if "handshake_ms" in p else None,
                  "echo_p50_us": round(p["rtt_us"]["p50"], 1)}))
PY
  done
done

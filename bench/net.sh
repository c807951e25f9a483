#!/usr/bin/env bash
# QUIC endpoint benchmark: vudo (net listen/ping/bench), real iroh 1.0 (npm
# @number0/iroh) and TCP loopback, all measured in this one run on loopback.
# Prints one JSON object with the ratios. See docs/net.md.
# Env: VUDO_BIN, BENCH_NET_TCP, BENCH_NET_ENGINE (binaries), NET_BULK_BYTES,
# NET_PINGS.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node bench/net_compare.js

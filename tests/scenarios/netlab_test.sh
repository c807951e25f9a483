#!/usr/bin/env bash
# Self-test of scripts/netlab: builds each topology and checks real
# behaviour with the probes of scripts/netlab.d/probe.py:
#   lan        UDP between hosts, multicast to 224.0.0.251 reaches the others
#   partition  blocks traffic, heals (by hand and by timer), link mode too
#   impair     random loss near the asked rate; tbf slows a bulk send
#   NAT kinds  eif: same mapping for two destinations, unsolicited inbound
#              arrives; symmetric: a new port per destination, inbound
#              dropped; apdf: same mapping, inbound from a stranger dropped
#   firewall   UDP blocked, TCP passes
#   teardown   down/clean/with leave no namespace behind; runs overlap
# Needs root (as CI). Bounded: about 20 s. Exit status 0 = all passed.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=$PWD/scripts/netlab

if [ "$(id -u)" -ne 0 ]; then
  echo "netlab_test: SKIPPED LOUDLY: needs root to create network namespaces" >&2
  exit 77
fi

tag=$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
runs=()
cleanup() {
  local r
  for r in "${runs[@]}"; do NETLAB_QUIET=1 "$N" down "$r" >/dev/null 2>&1 || true; done
  rm -f "/tmp/netlab_test.$tag".*
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export NETLAB_QUIET=1

pass=0
fail=0
ok() {
  echo "ok   - $*"
  pass=$((pass + 1))
}
bad() {
  echo "FAIL - $*"
  fail=$((fail + 1))
}
check() { # check "what" CMD...: passes when CMD succeeds
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
up() { # up NAME TOPOLOGY [opts]: a run named <name><tag>
  local r=$1$tag
  shift
  runs+=("$r")
  "$N" up "$@" --run "$r" >/dev/null
  echo "$r"
}
q() { "$@" >/dev/null; }
x() { local r=$1 h=$2; shift 2; timeout 10 "$N" exec "$r" "$h" "$N" probe "$@"; }
bg_echo() { timeout 60 "$N" exec "$1" "$2" "$N" probe echo "${@:3}" >/dev/null 2>&1 & }
ns_count() { ip netns list 2>/dev/null | awk '{print $1}' | grep -c "^vnl-$1-" || true; }

t0=$(date +%s.%N)
# Three runs at once: names never collide.
LAN=$(up l lan --hosts 3)
NATS=$(up n two-nats --nat-a eif --nat-b symmetric --public 2)
ONE=$(up o one-nat --nat apdf)
FW=$(up f firewall)
t1=$(date +%s.%N)
echo "# built 4 runs in $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s"
check "four runs listed" test "$("$N" list | grep -c "$tag")" -eq 4

# --- lan -------------------------------------------------------------------
bg_echo "$LAN" h1 7000
sleep 0.3
check "lan: h2 reaches h1 over UDP and h1 sees h2's address" \
  bash -c "[[ \$('$N' exec $LAN h2 '$N' probe ask 192.0.2.11 7000) == 192.0.2.12:* ]]"
check "lan: addr prints the host address" test "$("$N" addr "$LAN" h3)" = 192.0.2.13
out=/tmp/netlab_test.$tag.mc
x "$LAN" h3 recv 5353 --group 224.0.0.251 --timeout 1 >"$out" &
rpid=$!
sleep 0.3
x "$LAN" h2 send 224.0.0.251 5353 --count 20 >/dev/null
wait $rpid
check "lan: multicast 224.0.0.251 from h2 reaches h3 (20/20: $(cat "$out"))" test "$(cat "$out")" -eq 20

# --- partition ---------------------------------------------------------------
"$N" partition "$LAN" h1 on
check "partition on: h1 unreachable" bash -c "! timeout 5 '$N' exec $LAN h2 '$N' probe ask 192.0.2.11 7000 --timeout 0.7 2>/dev/null"
"$N" partition "$LAN" h1 off
check "partition off: h1 reachable again" q x "$LAN" h2 ask 192.0.2.11 7000
"$N" partition "$LAN" h1 on --for 1
check "timed partition: cut at first" bash -c "! timeout 5 '$N' exec $LAN h2 '$N' probe ask 192.0.2.11 7000 --timeout 0.5 2>/dev/null"
sleep 0.8
check "timed partition: healed by itself after 1 s" q x "$LAN" h2 ask 192.0.2.11 7000 --timeout 1
"$N" partition "$LAN" h1 on --mode link
check "link partition: h1 unreachable" bash -c "! timeout 5 '$N' exec $LAN h2 '$N' probe ask 192.0.2.11 7000 --timeout 0.7 2>/dev/null"
"$N" partition "$LAN" h1 off
check "link partition off: h1 reachable" q x "$LAN" h2 ask 192.0.2.11 7000 --timeout 2

# --- impairments -------------------------------------------------------------
"$N" impair "$LAN" h2 --loss 30
out=/tmp/netlab_test.$tag.loss
x "$LAN" h1 recv 7100 --timeout 0.7 >"$out" &
rpid=$!
sleep 0.3
x "$LAN" h2 send 192.0.2.11 7100 --count 2000 >/dev/null
wait $rpid
got=$(cat "$out")
# Binomial(2000, 0.7): mean 1400, sd 20.5; accept +-5 sd.
check "loss 30%: $got of 2000 arrived (expect ~1400)" test "$got" -ge 1297 -a "$got" -le 1503
"$N" impair "$LAN" h2 --clear
x "$LAN" h1 recv 7101 --timeout 0.7 >"$out" &
rpid=$!
sleep 0.3
x "$LAN" h2 send 192.0.2.11 7101 --count 2000 >/dev/null
wait $rpid
got=$(cat "$out")
check "loss cleared: $got of 2000 arrived" test "$got" -ge 1990
"$N" impair "$LAN" h2 --rate 4mbit
x "$LAN" h1 recv 7102 --timeout 1 >"$out" &
rpid=$!
sleep 0.3
secs=$(x "$LAN" h2 send 192.0.2.11 7102 --count 300 --size 1000)
wait $rpid
got=$(cat "$out")
# 300 kB at 4 Mbit/s is 0.6 s at least for what gets through the bucket.
rate=$(awk "BEGIN{printf \"%.2f\", $got * 1028 * 8 / ($secs + 0.001) / 1000000}")
check "rate 4mbit: $got kB in ${secs}s sent (~$rate Mbit/s delivered)" \
  awk "BEGIN{exit !($secs >= 0.3 && $got >= 100)}"
"$N" impair "$LAN" h2 --clear

# --- NAT kinds ---------------------------------------------------------------
for h in relay p1; do bg_echo "$NATS" $h 7000; bg_echo "$ONE" $h 7000; done
bg_echo "$FW" relay 7000
bg_echo "$FW" relay 7001 --tcp
sleep 0.4

m1=$(x "$NATS" a1 ask 203.0.113.10 7000 --src-port 4000)
m2=$(x "$NATS" a1 ask 203.0.113.21 7000 --src-port 4000)
check "eif: one mapping for two destinations ($m1, $m2)" test "$m1" = "$m2" -a "${m1%:*}" = 203.0.113.1

# unsolicited: a1 asks p1, then p2 (a stranger) sends to the mapping.
unsolicited() { # RUN HOST -> prints the lines host saw
  local r=$1 h=$2 o=/tmp/netlab_test.$tag.uns
  x "$r" "$h" ask 203.0.113.21 7000 --src-port 4001 --wait 1.5 >"$o" &
  local p=$!
  for _ in $(seq 100); do [ -s "$o" ] && break; sleep 0.02; done
  local m
  m=$(head -1 "$o")
  [ -n "$m" ] && x "$r" p2 send "${m%:*}" "${m#*:}" --count 3 >/dev/null
  wait $p || true
  cat "$o"
}
check "eif: a stranger's datagram to the mapping gets in" \
  bash -c "[[ \"\$(echo '$(unsolicited "$NATS" a1)' | grep -c '^inbound 203.0.113.22:')\" -ge 1 ]]"

s1=$(x "$NATS" b1 ask 203.0.113.10 7000 --src-port 4000)
s2=$(x "$NATS" b1 ask 203.0.113.21 7000 --src-port 4000)
check "symmetric: a new mapping per destination ($s1, $s2)" test "$s1" != "$s2" -a "${s1%:*}" = 203.0.113.2
check "symmetric: a stranger's datagram is dropped" \
  bash -c "! echo '$(unsolicited "$NATS" b1)' | grep -q '^inbound'"

o1=$(x "$ONE" a1 ask 203.0.113.10 7000 --src-port 4000)
o2=$(x "$ONE" a1 ask 203.0.113.21 7000 --src-port 4000)
check "apdf: one mapping for two destinations ($o1, $o2)" test "$o1" = "$o2"
check "apdf: a stranger's datagram is dropped" \
  bash -c "! echo '$(unsolicited "$ONE" a1)' | grep -q '^inbound'"

check "firewall: UDP out is blocked" bash -c "! timeout 5 '$N' exec $FW a1 '$N' probe ask 203.0.113.10 7000 --timeout 0.7 2>/dev/null"
check "firewall: TCP passes (seen as $(x "$FW" a1 ask 203.0.113.10 7001 --tcp 2>/dev/null || true))" \
  q x "$FW" a1 ask 203.0.113.10 7001 --tcp

# --- teardown ----------------------------------------------------------------
t2=$(date +%s.%N)
"$N" down "$FW"
check "down: no namespace of the run is left" test "$(ns_count "$FW")" -eq 0
ip netns add "vnl-z$tag-orphan"
"$N" clean "z$tag"
check "clean RUN: removes orphaned namespaces of the run" test "$(ns_count "z$tag")" -eq 0
check "others untouched by down/clean" test "$(ns_count "$LAN")" -gt 0
set +e
"$N" with lan --hosts 1 --run "w$tag" -- bash -c '[ -n "$NETLAB_RUN" ] && exit 3'
st=$?
set -e
check "with: runs the command (status 3 passed through) and tears down" \
  test "$st" -eq 3 -a "$(ns_count "w$tag")" -eq 0
for r in "$LAN" "$NATS" "$ONE"; do "$N" down "$r"; done
t3=$(date +%s.%N)
check "all runs of this test are gone" \
  test "$(ip netns list 2>/dev/null | grep -c "$tag" || true)" -eq 0
echo "# teardown of 4 runs + with-run: $(awk "BEGIN{printf \"%.2f\", $t3 - $t2}") s"

echo "netlab_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

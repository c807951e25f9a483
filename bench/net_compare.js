// QUIC on loopback, one run, three parties:
//   vudo:  `vudo net listen` + `vudo net ping` (connect, 1-byte echo) and
//          `vudo net bench` (one-stream bulk, receiver counts bytes; 64 KiB
//          packets on loopback, once more with --small-packets: 1452);
//   iroh:  real iroh 1.0 (npm @number0/iroh) connect + 1-byte echo between
//          two iroh endpoints in this process (relays and discovery off);
//   TCP:   bench_net_tcp, one loopback TCP connection moving the same bytes;
//   and bench_net_engine: vudo's two sans-I/O engines in memory (CPU cost).
// Prints one JSON object with the figures and the ratios vudo/reference.
'use strict';
const path = require('node:path');
const { spawn } = require('node:child_process');
const readline = require('node:readline');

const ROOT = path.resolve(__dirname, '..');
const iroh = require(path.join(ROOT, 'tests/interop/node_modules/@number0/iroh'));
const VUDO = process.env.VUDO_BIN || path.join(ROOT, 'build/release/src/cli/vudo');
const TCP = process.env.BENCH_NET_TCP || path.join(ROOT, 'build/release/bench/bench_net_tcp');
const ENGINE = process.env.BENCH_NET_ENGINE || path.join(ROOT, 'build/release/bench/bench_net_engine');
const BULK = +(process.env.NET_BULK_BYTES || (1 << 30));
const PINGS = +(process.env.NET_PINGS || 200);
const ALPN = 'vudo-bench/1';

const bytes = (s) => Array.from(Buffer.from(s));
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
// CPU seconds (user + system) a process has used so far.
const fs = require('node:fs');
const cpuOf = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (+rest[11] + +rest[12]) / 100;  // utime, stime in clock ticks
};

function listen(extra) {
  return new Promise((resolve, reject) => {
    const p = spawn(VUDO, ['net', 'listen', '--bind', '127.0.0.1', '--alpn', ALPN, ...extra],
                    { stdio: ['ignore', 'pipe', 'inherit'] });
    const rl = readline.createInterface({ input: p.stdout });
    let ticket = null;
    rl.on('line', (t) => {  // keep draining: connection log lines follow
      if (ticket === null) resolve({ p, ticket: (ticket = t.trim()) });
    });
    p.on('error', reject);
  });
}

// Async, so that this process keeps draining the listener's stdout.
function run(bin, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 300_000);
    p.on('close', (status) => {
      clearTimeout(t);
      if (status !== 0) reject(new Error(`${bin} ${args.join(' ')}: ${err}`));
      else resolve(JSON.parse(out));
    });
  });
}

async function irohEndpoint(alpns) {
  const b = iroh.Endpoint.builder();
  iroh.presetMinimal(b);
  b.relayMode(iroh.RelayMode.disabled());
  if (alpns) b.alpns(alpns);
  b.bindAddr('127.0.0.1:0');
  return b.bind();
}

async function irohFigures() {
  const server = await irohEndpoint([bytes(ALPN)]);
  const sock = server.boundSockets().find((s) => s.startsWith('127.0.0.1:'));
  (async () => {
    for (;;) {
      const inc = await server.acceptNext();
      if (!inc) return;
      (async () => {
        const conn = await (await inc.accept()).connect();
        for (;;) {
          const bi = await conn.acceptBi();
          (async () => {
            for (;;) {
              const b = await bi.recv.read(1);
              if (b.length === 0) break;
              await bi.send.writeAll(b);
            }
            await bi.send.finish();
          })().catch(() => {});
        }
      })().catch(() => {});
    }
  })().catch(() => {});
  const addr = new iroh.EndpointAddr(server.id(), null, [sock]);
  // Fresh client endpoint per connection, like `vudo net ping` (no resumption).
  const connect = [];
  for (let i = 0; i < Math.min(PINGS, 50); i++) {
    const ep = await irohEndpoint(null);
    const t0 = nowMs();
    const c = await ep.connect(addr, bytes(ALPN));
    connect.push(nowMs() - t0);
    c.close(0n, []);
    await ep.close();
  }
  const client = await irohEndpoint(null);
  const conn = await client.connect(addr, bytes(ALPN));
  const bi = await conn.openBi();
  const rtt = [];
  for (let i = 0; i < PINGS; i++) {
    const t0 = nowMs();
    await bi.send.writeAll([120]);
    await bi.recv.read(1);
    rtt.push((nowMs() - t0) * 1000);
  }
  conn.close(0n, []);
  await client.close();
  await server.close();
  return { connect_ms: median(connect), rtt_us_p50: median(rtt), rtt_us_p99: pct(rtt, 0.99) };
}

(async () => {
  // --quiet: no stdout line per connection (this process would wake up
  // for each, in the middle of the next handshake, on a 2-core host).
  const echo = await listen(['--echo', '--quiet']);
  const ping = await run(VUDO, ['net', 'ping', echo.ticket, '--alpn', ALPN, '--count', String(PINGS)]);
  echo.p.kill('SIGTERM');
  const sink = await listen(['--quiet']);
  const bulkRuns = [];
  for (let i = 0; i < 3; i++) {
    const c0 = cpuOf(sink.p.pid);
    const r = await run(VUDO, ['net', 'bench', sink.ticket, '--alpn', ALPN, '--bytes', String(BULK)]);
    r.receiver_cpu_s = cpuOf(sink.p.pid) - c0;
    bulkRuns.push(r);
  }
  // The same with the packet size used off loopback (1452 bytes, GSO/GRO).
  const small = await run(VUDO, ['net', 'bench', sink.ticket, '--alpn', ALPN, '--bytes', String(BULK), '--small-packets']);
  sink.p.kill('SIGTERM');
  const tcpRuns = [];
  for (let i = 0; i < 3; i++) tcpRuns.push(await run(TCP, [String(BULK)]));
  const engine = await run(ENGINE, [String(Math.min(BULK, 1 << 30)), '100']);
  const ir = await irohFigures();
  const vudoBulk = median(bulkRuns.map((r) => r.gib_per_s));
  const tcpBulk = median(tcpRuns.map((r) => r.gib_per_s));
  const out = {
    vudo: {
      connect_ms_median: ping.connect_ms,
      handshake_ms_median: ping.handshake_ms,
      echo_rtt_us: ping.rtt_us,
      bulk_gib_per_s_median_of_3: vudoBulk,
      bulk_runs_gib_per_s: bulkRuns.map((r) => +r.gib_per_s.toFixed(3)),
      // CPU per GiB moved, each side (whole sender process incl. connect).
      bulk_sender_cpu_s_per_gib: median(bulkRuns.map((r) => r.cpu_s / (BULK / 2 ** 30))),
      bulk_receiver_cpu_s_per_gib: median(bulkRuns.map((r) => r.receiver_cpu_s / (BULK / 2 ** 30))),
      bulk_metrics: bulkRuns[bulkRuns.length - 1].metrics,
      bulk_1452_byte_packets_gib_per_s: small.gib_per_s,
    },
    vudo_engine_in_memory: engine,
    iroh: ir,
    tcp: { bulk_gib_per_s_median_of_3: tcpBulk },
    ratios: {
      // Same event on both sides: the client's TLS handshake completed
      // (quinn's connect returns there; vudo's dial waits one more flight,
      // HANDSHAKE_DONE, to know the server accepted its key).
      handshake_vudo_over_iroh_connect: ping.handshake_ms / ir.connect_ms,
      connect_vudo_over_iroh: ping.connect_ms / ir.connect_ms,
      echo_p50_vudo_over_iroh: ping.rtt_us.p50 / ir.rtt_us_p50,
      bulk_vudo_over_tcp: vudoBulk / tcpBulk,
    },
    goals: {
      connect_le_1ms: ping.connect_ms <= 1,
      connect_not_slower_than_iroh: ping.handshake_ms <= ir.connect_ms,
      connect_incl_handshake_done_not_slower_than_iroh: ping.connect_ms <= ir.connect_ms,
      echo_p50_le_100us: ping.rtt_us.p50 <= 100,
      bulk_ge_1gib: vudoBulk >= 1,
    },
    bulk_bytes: BULK,
    pings: PINGS,
  };
  console.log(JSON.stringify(out, null, 2));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });

// QUIC connections between vudo and the real iroh 1.0 (npm @number0/iroh
// 1.1.0): both directions, node ids, refusals, many connections.
// Loopback only: iroh is bound to 127.0.0.1 with the minimal preset (no
// relay, no discovery) and vudo listens on 127.0.0.1.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const iroh = require('@number0/iroh');
const { VUDO_BIN } = require('./lib/vudo');

const ALPN = 'vudo-interop/echo/1';
const bytes = (s) => Array.from(Buffer.from(s));
const hex = (arr) => Buffer.from(arr).toString('hex');
const TEST_TIMEOUT = 60_000;

// Runs vudo asynchronously (iroh's callbacks need this event loop free).
function runVudo(args, timeoutMs = 30_000) {
  return new Promise((resolve) => {
    const p = spawn(VUDO_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

// Starts `vudo net listen` on loopback; resolves once it printed its ticket.
function startListener(extra = []) {
  return new Promise((resolve, reject) => {
    const p = spawn(VUDO_BIN, ['net', 'listen', '--bind', '127.0.0.1', '--alpn', ALPN,
                               '--timeout', '120', ...extra],
                    { stdio: ['ignore', 'pipe', 'pipe'] });
    const events = [];
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const rl = readline.createInterface({ input: p.stdout });
    let ticket = null;
    rl.on('line', (line) => {
      if (!ticket) {
        ticket = line.trim();
        resolve({ proc: p, ticket, events, stderr: () => stderr });
      } else {
        events.push(JSON.parse(line));
      }
    });
    p.on('close', (code) => { if (!ticket) reject(new Error(`listen exited ${code}: ${stderr}`)); });
  });
}

// An iroh endpoint on 127.0.0.1 that echoes every bi stream as it reads.
async function startIrohEcho() {
  const b = iroh.Endpoint.builder();
  iroh.presetMinimal(b);
  b.relayMode(iroh.RelayMode.disabled());
  b.alpns([bytes(ALPN)]);
  b.bindAddr('127.0.0.1:0');
  const ep = await b.bind();
  const sock = ep.boundSockets().find((s) => s.startsWith('127.0.0.1:'));
  const remotes = [];
  (async () => {
    for (;;) {
      const inc = await ep.acceptNext();
      if (!inc) return;
      (async () => {
        let conn;
        try { conn = await (await inc.accept()).connect(); } catch { return; }
        remotes.push(hex(conn.remoteId().toBytes()));
        for (;;) {
          let bi;
          try { bi = await conn.acceptBi(); } catch { return; }
          (async () => {
            for (;;) {
              const chunk = await bi.recv.read(65536);
              if (chunk.length === 0) break;
              await bi.send.writeAll(chunk);
            }
            await bi.send.finish();
          })().catch(() => {});
        }
      })().catch(() => {});
    }
  })().catch(() => {});
  const ticket = iroh.EndpointTicket.fromAddr(new iroh.EndpointAddr(ep.id(), null, [sock])).toString();
  return { ep, sock, ticket, id: hex(ep.id().toBytes()), remotes };
}

async function irohClient() {
  const b = iroh.Endpoint.builder();
  iroh.presetMinimal(b);
  b.relayMode(iroh.RelayMode.disabled());
  b.bindAddr('127.0.0.1:0');
  return b.bind();
}

test('vudo dials iroh: echo, both node ids, many connections in a row', { timeout: TEST_TIMEOUT }, async () => {
  const srv = await startIrohEcho();
  try {
    const r = await runVudo(['net', 'ping', srv.ticket, '--alpn', ALPN, '--count', '20']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.remote_id, srv.id, 'vudo sees iroh\'s node id');
    assert.equal(out.count, 20);
    assert.ok(out.connect_ms > 0 && out.connect_ms < 1000, `connect_ms ${out.connect_ms}`);
    assert.ok(out.rtt_us.p50 > 0 && out.rtt_us.p50 <= out.rtt_us.p99);
    assert.equal(out.metrics.path, srv.sock);
    // iroh saw 20 connections, all from vudo's node id.
    assert.equal(srv.remotes.length, 20);
    for (const id of srv.remotes) assert.equal(id, out.local_id, 'iroh sees vudo\'s node id');
  } finally {
    await srv.ep.close();
  }
});

test('iroh dials vudo: echo and both node ids, sequential and parallel', { timeout: TEST_TIMEOUT }, async () => {
  const l = await startListener(['--echo']);
  const client = await irohClient();
  try {
    const addr = iroh.EndpointTicket.fromString(l.ticket).endpointAddr();
    const vudoId = hex(addr.id().toBytes());
    const echoOnce = async (msg) => {
      const conn = await client.connect(addr, bytes(ALPN));
      assert.equal(hex(conn.remoteId().toBytes()), vudoId, 'iroh sees vudo\'s node id');
      assert.equal(Buffer.from(conn.alpn()).toString(), ALPN);
      const bi = await conn.openBi();
      await bi.send.writeAll(bytes(msg));
      await bi.send.finish();
      const got = Buffer.from(await bi.recv.readToEnd(1 << 20)).toString();
      conn.close(0n, bytes('bye'));
      return got;
    };
    for (let i = 0; i < 5; i++) assert.equal(await echoOnce(`hello ${i}`), `hello ${i}`);
    const big = 'x'.repeat(300_000);
    assert.equal(await echoOnce(big), big);
    const par = await Promise.all(Array.from({ length: 16 }, (_, i) => echoOnce(`par ${i}`)));
    par.forEach((got, i) => assert.equal(got, `par ${i}`));
    // vudo logged each connection with iroh's node id.
    const myId = hex(client.id().toBytes());
    const connected = l.events.filter((e) => e.event === 'connected');
    assert.equal(connected.length, 22);
    for (const e of connected) {
      assert.equal(e.remote_id, myId, 'vudo sees iroh\'s node id');
      assert.equal(e.alpn, ALPN);
    }
  } finally {
    await client.close();
    l.proc.kill('SIGTERM');
  }
});

test('a wrong pinned node id is refused, both directions', { timeout: TEST_TIMEOUT }, async () => {
  const srv = await startIrohEcho();
  const l = await startListener(['--echo']);
  const client = await irohClient();
  try {
    // vudo dials iroh's address pinning some other id.
    const other = iroh.SecretKey.generate().public();
    const wrong = iroh.EndpointTicket.fromAddr(new iroh.EndpointAddr(other, null, [srv.sock])).toString();
    const r = await runVudo(['net', 'ping', wrong, '--alpn', ALPN, '--count', '1', '--timeout', '5']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /refused.*is not the dialed/);
    // iroh dials vudo's address pinning some other id.
    const vaddr = iroh.EndpointTicket.fromString(l.ticket).endpointAddr();
    const bad = new iroh.EndpointAddr(other, null, vaddr.directAddresses());
    await assert.rejects(client.connect(bad, bytes(ALPN)));
    assert.equal(l.events.filter((e) => e.event === 'connected').length, 0);
  } finally {
    await client.close();
    await srv.ep.close();
    l.proc.kill('SIGTERM');
  }
});

test('an ALPN the other side does not serve is refused, both directions', { timeout: TEST_TIMEOUT }, async () => {
  const srv = await startIrohEcho();
  const l = await startListener(['--echo']);
  const client = await irohClient();
  try {
    const r = await runVudo(['net', 'ping', srv.ticket, '--alpn', 'nobody/1', '--count', '1', '--timeout', '5']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /refused/);
    assert.match(r.stderr, /no_application_protocol|ALPN/);
    const vaddr = iroh.EndpointTicket.fromString(l.ticket).endpointAddr();
    await assert.rejects(client.connect(vaddr, bytes('nobody/1')));
    // Both still serve the right ALPN afterwards.
    const ok = await runVudo(['net', 'ping', srv.ticket, '--alpn', ALPN, '--count', '2']);
    assert.equal(ok.status, 0, ok.stderr);
    const conn = await client.connect(vaddr, bytes(ALPN));
    conn.close(0n, []);
  } finally {
    await client.close();
    await srv.ep.close();
    l.proc.kill('SIGTERM');
  }
});

test('vudo bench to iroh echoes every byte', { timeout: TEST_TIMEOUT }, async () => {
  const srv = await startIrohEcho();
  try {
    const r = await runVudo(['net', 'bench', srv.ticket, '--alpn', ALPN, '--bytes', String(2 << 20)]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.mode, 'echo');
    assert.equal(out.bytes, 2 << 20);
    assert.ok(out.metrics.bytes_received > 2 << 20);
  } finally {
    await srv.ep.close();
  }
});

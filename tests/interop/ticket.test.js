// Tickets and node ids between vudo and the real iroh 1.0 (npm @number0/iroh).
// Only ticket/key objects are used: no endpoint is bound, nothing is sent.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const iroh = require('@number0/iroh');
const { vudo, tmpDir } = require('./lib/vudo');

const hex = (arr) => Buffer.from(arr).toString('hex');

function decodeWithVudo(ticket) {
  const r = vudo(['ticket', 'decode', ticket]);
  assert.equal(r.status, 0, `vudo ticket decode failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const ADDR_SETS = [
  [],
  ['127.0.0.1:1024'],
  ['192.0.2.1:1', '198.51.100.7:65535', '203.0.113.9:4433'],
  ['[::1]:9'],
  ['[2001:db8::1]:443', '192.0.2.44:7777', '[2001:db8::2]:1'],
];
const RELAYS = [null, 'http://relay.example', 'https://relay.example:8443/', 'http://derp.me./'];

test('vudo decodes tickets made by iroh', () => {
  let n = 0;
  for (const addrs of ADDR_SETS) {
    for (const relay of RELAYS) {
      const id = iroh.SecretKey.generate().public();
      const ticket = iroh.EndpointTicket.fromAddr(new iroh.EndpointAddr(id, relay, addrs)).toString();
      const got = decodeWithVudo(ticket);
      const back = iroh.EndpointTicket.fromString(ticket).endpointAddr();
      assert.equal(got.node_id, hex(id.toBytes()));
      assert.equal(got.node_id, id.toString(), 'iroh 1.0 prints node ids as 64 hex chars too');
      assert.deepEqual(got.direct_addresses, back.directAddresses());
      assert.deepEqual(got.relay_urls, back.relayUrl() ? [back.relayUrl()] : []);
      n++;
    }
  }
  assert.equal(n, ADDR_SETS.length * RELAYS.length);
});

test('iroh decodes tickets made by vudo, byte for byte the same', () => {
  const dir = tmpDir();
  for (const [i, addrs] of ADDR_SETS.entries()) {
    for (const relay of RELAYS) {
      const dataDir = path.join(dir, `node${i}`);
      const idOut = vudo(['id', '--data-dir', dataDir]);
      assert.equal(idOut.status, 0, idOut.stderr);
      const nodeId = idOut.stdout.trim();
      assert.match(nodeId, /^[0-9a-f]{64}$/);
      const args = ['ticket', '--data-dir', dataDir];
      for (const a of addrs) args.push('--addr', a);
      if (relay) args.push('--relay', relay);
      const r = vudo(args);
      assert.equal(r.status, 0, r.stderr);
      const ticket = r.stdout.trim();
      const parsed = iroh.EndpointTicket.fromString(ticket);
      const addr = parsed.endpointAddr();
      assert.equal(hex(addr.id().toBytes()), nodeId);
      assert.deepEqual([...addr.directAddresses()].sort(), [...addrs].sort());
      // iroh re-serialises its parse: identical means our encoding is canonical.
      assert.equal(parsed.toString(), ticket);
      // And iroh's own ticket for the same address is the same string.
      const theirs = iroh.EndpointTicket.fromAddr(
        new iroh.EndpointAddr(iroh.EndpointId.fromBytes(addr.id().toBytes()), relay, addrs));
      assert.equal(theirs.toString(), ticket);
    }
  }
});

test('custom transport addresses round-trip through iroh', () => {
  const dir = tmpDir();
  for (const data of ['', '0102', 'ab'.repeat(30), 'cd'.repeat(31), 'ef'.repeat(200)]) {
    const r = vudo(['ticket', '--data-dir', path.join(dir, 'n'), '--addr', '192.0.2.1:5',
                    '--custom', `42:${data}`, '--custom', `7:${data}`]);
    assert.equal(r.status, 0, r.stderr);
    const ticket = r.stdout.trim();
    assert.equal(iroh.EndpointTicket.fromString(ticket).toString(), ticket);
    const got = decodeWithVudo(ticket);
    assert.deepEqual(got.custom_addresses, [{ id: 7, data }, { id: 42, data }]);
  }
});

test('both refuse the same garbage', () => {
  const id = iroh.SecretKey.generate().public();
  const good = iroh.EndpointTicket.fromAddr(new iroh.EndpointAddr(id, null, ['127.0.0.1:1'])).toString();
  const bad = ['', 'endpoint', 'nodeabc', 'endpoint!!', good.slice(0, -3), 'x'.repeat(100)];
  for (const t of bad) {
    const r = vudo(['ticket', 'decode', t]);
    assert.notEqual(r.status, 0, `vudo accepted ${JSON.stringify(t)}`);
    assert.match(r.stderr, /bad ticket/);
    assert.throws(() => iroh.EndpointTicket.fromString(t), `iroh accepted ${JSON.stringify(t)}`);
  }
});

test('trailing bytes: iroh (postcard) ignores them, vudo refuses them', () => {
  // A deliberate difference, documented in docs/wire.md: no encoder writes
  // trailing bytes, so a ticket that has them was damaged or forged.
  const id = iroh.SecretKey.generate().public();
  const good = iroh.EndpointTicket.fromAddr(new iroh.EndpointAddr(id, null, ['127.0.0.1:1'])).toString();
  const padded = good + 'aa';
  assert.doesNotThrow(() => iroh.EndpointTicket.fromString(padded));
  const r = vudo(['ticket', 'decode', padded]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /trailing bytes/);
});

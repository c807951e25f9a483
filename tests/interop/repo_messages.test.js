// vudo's automerge-repo message codec against the real automerge-repo 2.5
// peers: frames they send over loopback WebSockets must decode in vudo, and
// what vudo encodes must decode in automerge-repo (its own cbor helper) to
// equal objects; where the reference writes no `undefined` and no integer
// above 2^32, vudo's bytes must be identical. Uses the repo_message_tool
// test helper (built with the repo library; VUDO_REPO_MESSAGE_TOOL, else next
// to VUDO_BIN's build tree, else build/release).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const TOOL = process.env.VUDO_REPO_MESSAGE_TOOL
  ? path.resolve(process.env.VUDO_REPO_MESSAGE_TOOL)
  : process.env.VUDO_BIN
    ? path.resolve(path.dirname(process.env.VUDO_BIN), '..', 'repo', 'repo_message_tool')
    : path.join(ROOT, 'build', 'release', 'src', 'repo', 'repo_message_tool');
if (!fs.existsSync(TOOL)) {
  throw new Error(`repo_message_tool not found at ${TOOL}: build the release tree or set VUDO_REPO_MESSAGE_TOOL`);
}
const VECTORS = path.join(ROOT, 'src', 'repo', 'testdata', 'repo_message_vectors.json');

// Runs the tool over many lines at once; returns one parsed JSON per line.
function tool(mode, lines) {
  const r = spawnSync(TOOL, [mode], { input: lines.join('\n') + '\n', encoding: 'utf8', timeout: 60000, maxBuffer: 256 << 20 });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `repo_message_tool ${mode} failed: ${r.stderr}`);
  const out = r.stdout.split('\n').filter(Boolean).map(l => JSON.parse(l));
  assert.equal(out.length, lines.length, 'one answer per input line');
  return out;
}

const load = async () => {
  const { cbor } = await import('@automerge/automerge-repo');
  const norm = await import('./repo/normalize.mjs');
  const capture = await import('./repo/capture.mjs');
  const cases = await import('./repo/cases.mjs');
  return { cbor, ...norm, ...capture, ...cases };
};

let captured;  // frames of one live exchange, shared by the tests below
async function frames(m) {
  if (!captured) captured = await m.captureExchange();
  return captured;
}

test('frames sent by real automerge-repo peers decode in vudo', async () => {
  const m = await load();
  const fs_ = await frames(m);
  const types = new Set(fs_.map(f => f.type));
  for (const t of ['join', 'peer', 'request', 'sync', 'doc-unavailable', 'ephemeral', 'remote-subscription-change', 'remote-heads-changed', 'error']) {
    assert.ok(types.has(t), `the live exchange produced no ${t} message`);
  }
  const results = tool('decode', fs_.map(f => m.hex(f.bytes)));
  let identical = 0;
  results.forEach((r, i) => {
    const f = fs_[i];
    assert.ok(r.ok, `${f.type} frame ${i}: ${r.error}`);
    assert.equal(r.type, f.type);
    const expected = m.dropUndefined(f.object);
    assert.deepEqual(r.json, m.toJson(expected), `${f.type} frame ${i} decoded differently`);
    // vudo's re-encoding, decoded by automerge-repo, is the same object.
    assert.deepEqual(m.plain(m.cbor.decode(Buffer.from(r.cbor, 'hex'))), m.plain(expected));
    if (m.expectIdentical(f.object)) {
      assert.equal(r.cbor, m.hex(f.bytes), `${f.type} frame ${i}: vudo's bytes differ from automerge-repo's`);
      identical++;
    }
  });
  assert.ok(identical >= fs_.length / 3, `only ${identical} of ${fs_.length} frames byte-identical`);
});

test('messages encoded by vudo decode in automerge-repo to equal objects', async () => {
  const m = await load();
  const objects = (await frames(m)).map(f => f.object);
  for (const [name, object] of m.synthesized) {
    if (name === 'join-metadata-alias' || name === 'sync-extra-fields') continue;
    objects.push(object);
  }
  const results = tool('encode', objects.map(o => JSON.stringify(m.toJson(m.dropUndefined(o)))));
  results.forEach((r, i) => {
    assert.ok(r.ok, `${objects[i].type}: ${r.error}`);
    const decoded = m.cbor.decode(Buffer.from(r.cbor, 'hex'));
    assert.deepEqual(m.plain(decoded), m.plain(m.dropUndefined(objects[i])), `${objects[i].type} differs after vudo encoded it`);
  });
});

test('unknown fields are dropped and the metadata alias is normalised', async () => {
  const m = await load();
  const byName = Object.fromEntries(m.synthesized.map(([n, o]) => [n, o]));
  const [extra, alias] = tool('decode', [m.hex(m.cbor.encode(byName['sync-extra-fields'])), m.hex(m.cbor.encode(byName['join-metadata-alias']))]);
  assert.ok(extra.ok && alias.ok);
  const { future, flag, ...known } = byName['sync-extra-fields'];
  assert.ok(future && flag);
  assert.deepEqual(m.plain(m.cbor.decode(Buffer.from(extra.cbor, 'hex'))), m.plain(known));
  const { metadata, ...rest } = byName['join-metadata-alias'];
  assert.deepEqual(m.plain(m.cbor.decode(Buffer.from(alias.cbor, 'hex'))), m.plain({ ...rest, peerMetadata: metadata }));
});

test('committed vectors still match the installed automerge-repo', async () => {
  const m = await load();
  const vectors = JSON.parse(fs.readFileSync(VECTORS, 'utf8'));
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, 'node_modules', '@automerge', 'automerge-repo', 'package.json'), 'utf8'));
  assert.equal(vectors.generator['@automerge/automerge-repo'], pkg.version, 'regenerate with node tests/interop/repo/gen_vectors.mjs');
  for (const v of vectors.messages) {
    const object = m.fromJson(v.json);
    assert.equal(m.hex(m.cbor.encode(object)), v.cbor, `${v.name}: automerge-repo now encodes it differently`);
    assert.deepEqual(m.plain(m.cbor.decode(Buffer.from(v.cbor, 'hex'))), m.plain(object), v.name);
  }
  // (The empty input is checked by the C++ tests: the tool skips empty lines.)
  const invalid = vectors.invalid.filter(v => v.cbor !== '');
  const results = tool('decode', invalid.map(v => v.cbor));
  results.forEach((r, i) => {
    const v = invalid[i];
    assert.equal(r.ok, false, `${v.name} was accepted`);
    assert.equal(r.code, v.error, `${v.name}: ${r.error}`);
    assert.ok(r.error.includes(v.contains), `${v.name}: "${r.error}" lacks "${v.contains}"`);
  });
});

test('garbage and truncated frames give errors, never a crash', async () => {
  const m = await load();
  const lines = [];
  for (let i = 0; i < 500; i++) lines.push(crypto.randomBytes(1 + (i % 64)).toString('hex'));
  const sample = (await frames(m)).slice(0, 6);
  for (const f of sample) {
    for (let n = 1; n < f.bytes.length; n += 3) lines.push(m.hex(f.bytes.subarray(0, n)));
  }
  const results = tool('decode', lines);
  const accepted = results.filter(r => r.ok).length;
  assert.equal(accepted, 0, `${accepted} garbage inputs were accepted as messages`);
  for (const r of results) assert.ok(typeof r.code === 'string' && r.error.length > 0);
});

test('two automerge-repo peers sync through vudo\'s codec', async () => {
  const { Repo } = await import('@automerge/automerge-repo');
  const { VudoCodec, vudoPipe } = await import('./repo/vudo_pipe.mjs');
  const codec = new VudoCodec(TOOL);
  const errors = [];
  const [pa, pb] = vudoPipe(codec);
  for (const p of [pa, pb]) p.on('vudo-error', e => errors.push(e));
  const a = new Repo({ network: [pa], peerId: 'repo-a', sharePolicy: async () => true });
  const b = new Repo({ network: [pb], peerId: 'repo-b', sharePolicy: async () => true });
  const until = async (what, predicate) => {
    const deadline = Date.now() + 10000;
    while (!predicate()) {
      assert.equal(errors.length, 0, String(errors[0]));
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise(r => setTimeout(r, 10));
    }
  };
  try {
    await until('the join/peer handshake', () => a.peers.includes('repo-b') && b.peers.includes('repo-a'));
    const handle = a.create({ todos: [] });
    handle.change(d => { d.todos.push({ title: 'milk', done: false }); });
    const bHandle = await b.find(handle.url);
    assert.deepEqual(bHandle.doc().todos, [{ title: 'milk', done: false }]);
    bHandle.change(d => { d.todos[0].done = true; d.todos.push({ title: 'x'.repeat(5000), done: false }); });
    await until('a sees b\'s edits', () => handle.doc().todos.length === 2 && handle.doc().todos[0].done);
    // Concurrent edits on both sides converge.
    handle.change(d => { d.todos[1].title = 'short'; });
    bHandle.change(d => { d.todos.push({ title: 'third', done: false }); });
    await until('convergence', () => JSON.stringify(handle.doc()) === JSON.stringify(bHandle.doc()) && handle.doc().todos.length === 3);
    // Ephemeral messages arrive too.
    let got;
    bHandle.on('ephemeral-message', ({ message }) => { got = message; });
    handle.broadcast({ cursor: 7 });
    await until('ephemeral', () => got !== undefined);
    assert.deepEqual(got, { cursor: 7 });
    // A document nobody has: request -> doc-unavailable through vudo.
    await assert.rejects(b.find('automerge:235mYAaFq3G2SdRxKfhYPkevRi8P'), /unavailable/i);
    assert.equal(errors.length, 0, String(errors[0]));
    assert.ok(codec.passed >= 8, `only ${codec.passed} messages went through vudo`);
  } finally {
    await a.shutdown();
    await b.shutdown();
    codec.close();
  }
});

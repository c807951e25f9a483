// The Automerge sync protocol between vudo (`vudo doc sync-stdio`) and the
// real automerge-js 3.5: random concurrently edited forks (maps, lists,
// text, counters, deletes; tiny to thousands of changes; one side empty)
// sync in both roles, in v2 and with vudo as a v1-only peer. After sync both
// sides have the same heads and the same value, and vudo needed at most one
// round more than automerge-js needs against itself.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const A = require('@automerge/automerge');
const { VUDO_BIN, tmpDir } = require('./lib/vudo');

const MAX_ROUNDS = 60;

// A binary built before the sync command existed cannot run these tests:
// say so loudly instead of failing every case with a confusing error.
const probe = spawnSync(VUDO_BIN, ['doc', 'sync-stdio', '--help'], { encoding: 'utf8' });
const HAS_SYNC_STDIO = probe.status === 0 && /--read-only/.test(probe.stdout);
if (!HAS_SYNC_STDIO) {
  console.error(`automerge_sync.test.js: SKIPPED: ${VUDO_BIN} has no 'doc sync-stdio' command (rebuild vudo)`);
}
const syncTest = (name, fn) => test(name, { skip: HAS_SYNC_STDIO ? false : 'vudo has no doc sync-stdio (rebuild)' }, fn);

// ---- deterministic randomness ----
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const actorHex = (r) => Array.from({ length: 16 }, () => Math.floor(r() * 256).toString(16).padStart(2, '0')).join('');

function randomScalar(r) {
  switch (Math.floor(r() * 6)) {
    case 0: return Math.floor(r() * 2000) - 1000;
    case 1: return r() * 100;
    case 2: return 'v' + Math.floor(r() * 1e6).toString(36) + (r() < 0.2 ? ' ü€😀' : '');
    case 3: return r() < 0.5;
    case 4: return null;
    default: return new Date(1700000000000 + Math.floor(r() * 1e9));
  }
}

// One random edit on the document of the shape made by baseDoc().
function randomEdit(d, r) {
  const kind = Math.floor(r() * 9);
  const key = 'k' + Math.floor(r() * 24);
  if (kind === 0 || kind === 1) {
    d.map[key] = randomScalar(r);
  } else if (kind === 2) {
    if (d.map[key] !== undefined) delete d.map[key];
    else d.map[key] = { nested: [randomScalar(r)], at: Math.floor(r() * 10) };
  } else if (kind === 3) {
    d.list.insertAt(Math.floor(r() * (d.list.length + 1)), randomScalar(r));
  } else if (kind === 4) {
    if (d.list.length > 0) d.list.deleteAt(Math.floor(r() * d.list.length));
    else d.list.push('first');
  } else if (kind === 5 || kind === 6) {
    const len = d.text.length;
    const pos = Math.floor(r() * (len + 1));
    const del = r() < 0.3 ? Math.min(len - pos, Math.floor(r() * 4)) : 0;
    const words = ['a', 'bc', 'déf', 'ghij ', '漢字', 'x'];
    A.splice(d, ['text'], pos, del, words[Math.floor(r() * words.length)]);
  } else if (kind === 7) {
    d.counters['c' + Math.floor(r() * 3)].increment(Math.floor(r() * 11) - 5);
  } else {
    const i = Math.floor(r() * 4);
    if (d.objs[i] === undefined) d.objs[i] = { id: i, tags: [] };
    else if (r() < 0.5) d.objs[i].tags.push(key);
    else d.objs[i].flag = !d.objs[i].flag;
  }
}

function baseDoc(r) {
  return A.from({ map: {}, list: [], text: '', counters: { c0: new A.Counter(0), c1: new A.Counter(5), c2: new A.Counter(-3) }, objs: {} },
    { actor: actorHex(r) });
}

// `changes` changes of `ops` random edits each.
function edit(doc, r, changes, ops) {
  let t = 1700000000;
  for (let i = 0; i < changes; i++) {
    doc = A.change(doc, { time: t++ }, (d) => { for (let k = 0; k < ops; k++) randomEdit(d, r); });
  }
  return doc;
}

// A scenario: a shared history, then two forks with their own edits.
// `emptyVudo` / `emptyJs`: that side starts with nothing at all.
function makeForks(s) {
  const r = mulberry32(s.seed);
  let base = edit(baseDoc(r), r, s.base, s.ops);
  let v = edit(A.clone(base, { actor: actorHex(r) }), r, s.vudo, s.ops);
  let j = edit(A.clone(base, { actor: actorHex(r) }), r, s.js, s.ops);
  if (s.emptyVudo) v = null;
  if (s.emptyJs) j = A.init({ actor: actorHex(r) });
  return { v, j };
}

// Strips the flags trailer: what an automerge peer from before v2 sends.
function stripFlags(m) {
  let pos = 1;
  const uleb = () => {
    let v = 0, shift = 0, b;
    do { b = m[pos++]; v += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
    return v;
  };
  // (read the length first: `pos += uleb()` would add to the old pos)
  const skip = (unit) => { const n = uleb(); pos += unit * n; };
  skip(32);  // heads
  skip(32);  // need
  for (let n = uleb(); n > 0; n--) { skip(32); skip(1); }  // have
  for (let n = uleb(); n > 0; n--) skip(1);  // changes
  return m.subarray(0, pos);
}

// automerge-js against itself, same loop as vudoSync; `first` generates first.
function referenceRounds(first, second, { v1First = false, v1Second = false } = {}) {
  let a = A.clone(first), b = A.clone(second);
  let sa = A.initSyncState(), sb = A.initSyncState();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    let m1, m2;
    [sa, m1] = A.generateSyncMessage(a, sa);
    if (m1) {
      if (v1First) m1 = stripFlags(m1);
      [b, sb] = A.receiveSyncMessage(b, sb, m1);
    }
    [sb, m2] = A.generateSyncMessage(b, sb);
    if (m2) {
      if (v1Second) m2 = stripFlags(m2);
      [a, sa] = A.receiveSyncMessage(a, sa, m2);
    }
    if (!m1 && !m2) {
      assert.deepEqual(A.getHeads(a).sort(), A.getHeads(b).sort(), 'reference did not converge');
      return round;
    }
  }
  throw new Error('reference did not converge');
}

// A running `vudo doc sync-stdio`: exchange(frame) sends one frame and
// resolves with vudo's one-frame answer (null for an empty frame).
class VudoPeer {
  constructor(file, flags) {
    this.proc = spawn(VUDO_BIN, ['doc', 'sync-stdio', file, ...flags], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.buf = Buffer.alloc(0);
    this.waiting = null;
    this.stderr = '';
    this.bytesIn = 0;
    this.bytesOut = 0;
    this.proc.stdout.on('data', (chunk) => { this.buf = Buffer.concat([this.buf, chunk]); this.pump(); });
    this.proc.stderr.on('data', (chunk) => { this.stderr += chunk; });
    this.proc.stdin.on('error', () => {});  // EPIPE once vudo quits: reported via exit code
    this.exited = new Promise((resolve) => this.proc.on('close', (code) => {
      if (this.waiting) this.waiting.reject(new Error(`vudo exited (${code}) mid-exchange: ${this.stderr}`));
      resolve(code);
    }));
  }
  pump() {
    if (!this.waiting || this.buf.length < 4) return;
    const len = this.buf.readUInt32BE(0);
    if (this.buf.length < 4 + len) return;
    const frame = Uint8Array.from(this.buf.subarray(4, 4 + len));
    this.buf = this.buf.subarray(4 + len);
    const w = this.waiting;
    this.waiting = null;
    this.bytesIn += len;
    w.resolve(len === 0 ? null : frame);
  }
  exchange(message) {
    const header = Buffer.alloc(4);
    const body = message ? Buffer.from(message) : Buffer.alloc(0);
    header.writeUInt32BE(body.length);
    this.bytesOut += body.length;
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.proc.stdin.write(Buffer.concat([header, body]));
      this.pump();
    });
  }
  async finish() {
    this.proc.stdin.end();
    const code = await this.exited;
    const line = this.stderr.split('\n').find((l) => l.startsWith('{"heads"'));
    return { code, report: line ? JSON.parse(line) : null };
  }
}

// Syncs the js doc `j` with vudo holding `file`; returns {j, rounds, report}.
async function vudoSync(file, j, { vudoFirst, v1 = false, readOnly = false }) {
  const flags = [];
  if (v1) flags.push('--v1');
  if (readOnly) flags.push('--read-only');
  const peer = new VudoPeer(file, flags);
  let s = A.initSyncState();
  let rounds = -1;
  try {
    if (vudoFirst) {
      let reply = await peer.exchange(null);
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const m1 = reply;
        if (m1) [j, s] = A.receiveSyncMessage(j, s, m1);
        let m2;
        [s, m2] = A.generateSyncMessage(j, s);
        if (!m1 && !m2) { rounds = round; break; }
        reply = await peer.exchange(m2);
      }
    } else {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        let m1;
        [s, m1] = A.generateSyncMessage(j, s);
        const m2 = await peer.exchange(m1);
        if (m2) [j, s] = A.receiveSyncMessage(j, s, m2);
        if (!m1 && !m2) { rounds = round; break; }
      }
    }
  } finally {
    var { code, report } = await peer.finish();
  }
  assert.equal(code, 0, `vudo failed: ${peer.stderr}`);
  assert.notEqual(rounds, -1, `no convergence in ${MAX_ROUNDS} rounds`);
  return { j, rounds, report, wire: peer.bytesIn + peer.bytesOut };
}

const SCENARIOS = [];
// Small to medium random forks, many seeds.
for (let seed = 1; seed <= 16; seed++) {
  const r = mulberry32(seed * 7919);
  SCENARIOS.push({
    name: `seed ${seed}`, seed, base: 1 + Math.floor(r() * 20), vudo: Math.floor(r() * 30), js: Math.floor(r() * 30),
    ops: 1 + Math.floor(r() * 4),
  });
}
SCENARIOS.push({ name: 'tiny: one change each', seed: 101, base: 1, vudo: 1, js: 1, ops: 1 });
SCENARIOS.push({ name: 'identical', seed: 102, base: 10, vudo: 0, js: 0, ops: 2 });
SCENARIOS.push({ name: 'vudo empty', seed: 103, base: 40, vudo: 0, js: 20, ops: 2, emptyVudo: true });
SCENARIOS.push({ name: 'js empty', seed: 104, base: 40, vudo: 20, js: 0, ops: 2, emptyJs: true });
SCENARIOS.push({ name: 'vudo behind by 2/3', seed: 105, base: 10, vudo: 0, js: 40, ops: 1 });
SCENARIOS.push({ name: 'thousands: 2000 per-edit changes to an empty vudo', seed: 106, base: 2000, vudo: 0, js: 0, ops: 1, emptyVudo: true });
SCENARIOS.push({ name: 'thousands: 1000 vs 1000 concurrent changes', seed: 107, base: 200, vudo: 1000, js: 1000, ops: 1 });

const dir = tmpDir('vudo-sync-');
let fileCounter = 0;

function prepare(s) {
  const { v, j } = makeForks(s);
  const file = path.join(dir, `doc${fileCounter++}.automerge`);
  if (v) fs.writeFileSync(file, A.save(v));
  return { v: v || A.init({ actor: 'ee'.repeat(16) }), j, file };
}

function checkConverged(file, j, report) {
  const saved = A.load(fs.readFileSync(file));
  const heads = A.getHeads(j).slice().sort();
  assert.deepEqual(A.getHeads(saved).slice().sort(), heads, 'vudo saved different heads');
  assert.deepEqual(report.heads.slice().sort(), heads, 'vudo reported different heads');
  assert.deepEqual(A.toJS(saved), A.toJS(j), 'materialized values differ');
}

for (const s of SCENARIOS) {
  for (const vudoFirst of [true, false]) {
    syncTest(`${s.name}: v2, ${vudoFirst ? 'vudo' : 'automerge-js'} generates first`, async (t) => {
      const { v, j, file } = prepare(s);
      const ref = vudoFirst ? referenceRounds(v, j) : referenceRounds(j, v);
      const out = await vudoSync(file, j, { vudoFirst });
      checkConverged(file, out.j, out.report);
      t.diagnostic(`rounds: vudo ${out.rounds}, automerge-js alone ${ref}; wire ${out.wire} B`);
      assert.ok(out.rounds <= ref + 1, `vudo took ${out.rounds} rounds, automerge-js ${ref}`);
    });
  }
  for (const vudoFirst of [true, false]) {
    syncTest(`${s.name}: vudo as a v1-only peer, ${vudoFirst ? 'vudo' : 'automerge-js'} generates first`, async (t) => {
      const { v, j, file } = prepare(s);
      const ref = vudoFirst ? referenceRounds(v, j, { v1First: true }) : referenceRounds(j, v, { v1Second: true });
      const out = await vudoSync(file, j, { vudoFirst, v1: true });
      checkConverged(file, out.j, out.report);
      t.diagnostic(`rounds: vudo ${out.rounds}, automerge-js alone ${ref}; wire ${out.wire} B`);
      assert.ok(out.rounds <= ref + 1, `vudo took ${out.rounds} rounds, automerge-js ${ref}`);
    });
  }
}

syncTest('vudo --read-only sends its changes but applies none', async () => {
  const s = { seed: 201, base: 5, vudo: 5, js: 5, ops: 2 };
  const { v, j, file } = prepare(s);
  const before = fs.readFileSync(file);
  const out = await vudoSync(file, j, { vudoFirst: true, readOnly: true });
  const saved = A.load(fs.readFileSync(file));
  assert.deepEqual(A.getHeads(saved).sort(), A.getHeads(v).sort(), 'read-only vudo applied changes');
  assert.deepEqual(A.toJS(saved), A.toJS(A.load(before)));
  // automerge-js got everything vudo had.
  assert.ok(A.hasHeads(out.j, A.getHeads(v)), 'js lacks a change of vudo');
});

syncTest('vudo rejects a malformed message without touching the document', async () => {
  const s = { seed: 202, base: 5, vudo: 2, js: 2, ops: 1 };
  const { file } = prepare(s);
  const before = A.getHeads(A.load(fs.readFileSync(file)));
  const peer = new VudoPeer(file, []);
  await assert.rejects(peer.exchange(Uint8Array.from([0x42, 0x05, 0x01])), /exited/);
  const { code } = await peer.finish();
  assert.equal(code, 1);
  assert.match(peer.stderr, /bad sync message/);
  assert.deepEqual(A.getHeads(A.load(fs.readFileSync(file))), before);
});

// Real documents from automerge's benchmark battery, to an empty peer.
const CORPUS = path.join(process.env.VUDO_SHARED_DIR || path.join(__dirname, '..', '..', '..', 'shared'),
  'testdata', 'automerge', 'corpus');
for (const name of ['monday-meeting-notes.automerge', 'godot-modeled.amrg', 'stephen.amrg']) {
  const bytes = () => fs.readFileSync(path.join(CORPUS, name));
  syncTest(`corpus ${name}: vudo sends it to an empty automerge-js`, async (t) => {
    const file = path.join(dir, `corpus${fileCounter++}.automerge`);
    fs.writeFileSync(file, bytes());
    const ref = referenceRounds(A.load(bytes()), A.init());
    const out = await vudoSync(file, A.init(), { vudoFirst: true });
    checkConverged(file, out.j, out.report);
    assert.deepEqual(A.toJS(out.j), A.toJS(A.load(bytes())));
    t.diagnostic(`rounds: vudo ${out.rounds}, automerge-js alone ${ref}; wire ${out.wire} B`);
    assert.ok(out.rounds <= ref + 1);
  });
  for (const v1 of [false, true]) {
    syncTest(`corpus ${name}: automerge-js sends it to an empty vudo${v1 ? ' (v1-only)' : ''}`, async (t) => {
      const file = path.join(dir, `corpus${fileCounter++}.automerge`);
      const ref = referenceRounds(A.load(bytes()), A.init(), { v1Second: v1 });
      const out = await vudoSync(file, A.load(bytes()), { vudoFirst: false, v1 });
      checkConverged(file, out.j, out.report);
      t.diagnostic(`rounds: vudo ${out.rounds}, automerge-js alone ${ref}; wire ${out.wire} B`);
      assert.ok(out.rounds <= ref + 1);
    });
  }
}

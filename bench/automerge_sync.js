// Automerge sync benchmark: automerge-js 3.5 <-> automerge-js vs vudo <-> vudo
// on the same saved documents, in the same run (see automerge_sync.sh).
//
//   1. the automerge-paper trace as one change per edit (259,778 changes),
//      saved, synced to an empty peer;
//   2. two forks of that document that each made 1,000 more edits (one
//      change per edit), synced with each other.
//
// Timed, best of REPEAT runs: the sync loop with both documents loaded, and
// load (from the saved bytes) + sync. Bytes: all sync messages, both ways.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const A = require(path.join(ROOT, 'tests/interop/node_modules/@automerge/automerge'));
const BENCH_BIN = process.env.BENCH_BIN || path.join(ROOT, 'build/release/bench/bench_automerge_sync');
const CACHE = process.env.VUDO_BENCH_CACHE || path.join(ROOT, 'build/bench-data');
const SHARED = process.env.VUDO_SHARED_DIR || path.join(ROOT, '..', 'shared');
const REPEAT = Number(process.env.REPEAT || 3);

fs.mkdirSync(CACHE, { recursive: true });

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

function cached(name, build) {
  const file = path.join(CACHE, name);
  if (!fs.existsSync(file)) {
    const t = Date.now();
    fs.writeFileSync(file + '.tmp', build());
    fs.renameSync(file + '.tmp', file);
    console.error(`  built ${name} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
  return file;
}

// The paper trace, one automerge change per edit, saved by automerge-js.
const paperFile = cached('paper-per-edit.automerge', () => {
  const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(SHARED, 'testdata/traces/automerge-paper.json.gz'))));
  let doc = A.from({ text: trace.startContent || '' }, { actor: '01'.repeat(16) });
  for (const txn of trace.txns) {
    for (const [pos, del, ins] of txn.patches) {
      doc = A.change(doc, { time: 0 }, (d) => A.splice(d, ['text'], pos, del, ins));
    }
  }
  if (doc.text !== trace.endContent) throw new Error('paper trace replay mismatch');
  return A.save(doc);
});

function forkWithEdits(base, actor, seed, edits) {
  const r = mulberry32(seed);
  let doc = A.clone(base, { actor });
  for (let i = 0; i < edits; i++) {
    doc = A.change(doc, { time: 0 }, (d) => {
      const len = d.text.length;
      const pos = Math.floor(r() * (len + 1));
      if (r() < 0.3 && pos < len) A.splice(d, ['text'], pos, 1);
      else A.splice(d, ['text'], pos, 0, 'xyz'[Math.floor(r() * 3)]);
    });
  }
  return A.save(doc);
}

let paperDoc = null;
const paper = () => (paperDoc ||= A.load(fs.readFileSync(paperFile)));
const forkA = cached('paper-fork-a.automerge', () => forkWithEdits(paper(), 'aa'.repeat(16), 1, 1000));
const forkB = cached('paper-fork-b.automerge', () => forkWithEdits(paper(), 'bb'.repeat(16), 2, 1000));

function jsSync(aFile, bFile) {
  const aBytes = fs.readFileSync(aFile);
  const bBytes = bFile ? fs.readFileSync(bFile) : null;
  let best = Infinity, bestTotal = Infinity, bytes = 0, messages = 0, rounds = -1;
  for (let rep = 0; rep < REPEAT; rep++) {
    const t0 = process.hrtime.bigint();
    let a = A.load(aBytes), b = bBytes ? A.load(bBytes) : A.init();
    let sa = A.initSyncState(), sb = A.initSyncState();
    bytes = 0; messages = 0; rounds = -1;
    const t = process.hrtime.bigint();
    for (let round = 0; round < 100; round++) {
      let m1, m2;
      [sa, m1] = A.generateSyncMessage(a, sa);
      if (m1) { bytes += m1.length; messages++; [b, sb] = A.receiveSyncMessage(b, sb, m1); }
      [sb, m2] = A.generateSyncMessage(b, sb);
      if (m2) { bytes += m2.length; messages++; [a, sa] = A.receiveSyncMessage(a, sa, m2); }
      if (!m1 && !m2) { rounds = round; break; }
    }
    const end = process.hrtime.bigint();
    best = Math.min(best, Number(end - t) / 1e6);
    bestTotal = Math.min(bestTotal, Number(end - t0) / 1e6);
    const ha = A.getHeads(a).sort().join(), hb = A.getHeads(b).sort().join();
    if (rounds < 0 || ha !== hb) throw new Error('automerge-js did not converge');
  }
  return { sync_ms: best, total_ms: bestTotal, bytes, messages, rounds };
}

function vudoSync(aFile, bFile, eager) {
  const args = [aFile];
  if (bFile) args.push(bFile);
  args.push('--repeat', String(REPEAT));
  if (eager) args.push('--eager-history');
  const r = spawnSync(BENCH_BIN, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${BENCH_BIN} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const results = [];
for (const [name, a, b] of [
  ['paper (259,778 per-edit changes) -> empty peer', paperFile, null],
  ['two paper forks, 1,000 edits each', forkA, forkB],
]) {
  const js = jsSync(a, b);
  const vudo = vudoSync(a, b, false);
  if (!vudo.converged) throw new Error('vudo did not converge');
  // The same with the change graph rebuilt during load, as automerge-js's
  // load computes every change hash: the sync loop alone is then comparable.
  const eager = vudoSync(a, b, true);
  if (!eager.converged) throw new Error('vudo did not converge');
  const row = {
    scenario: name,
    automerge_js_sync_ms: +js.sync_ms.toFixed(1), vudo_sync_ms: +vudo.sync_ms.toFixed(1),
    sync_speedup: +(js.sync_ms / vudo.sync_ms).toFixed(1),
    vudo_eager_sync_ms: +eager.sync_ms.toFixed(1),
    eager_sync_speedup: +(js.sync_ms / eager.sync_ms).toFixed(1),
    automerge_js_total_ms: +js.total_ms.toFixed(1), vudo_total_ms: +vudo.total_ms.toFixed(1),
    total_speedup: +(js.total_ms / vudo.total_ms).toFixed(1),
    vudo_eager_total_ms: +eager.total_ms.toFixed(1),
    eager_total_speedup: +(js.total_ms / eager.total_ms).toFixed(1),
    automerge_js_bytes: js.bytes, vudo_bytes: vudo.bytes,
    automerge_js_rounds: js.rounds, vudo_rounds: vudo.rounds,
  };
  results.push(row);
  console.log(`${name}:\n  sync (documents loaded): automerge-js ${row.automerge_js_sync_ms} ms, ` +
    `vudo ${row.vudo_sync_ms} ms: x${row.sync_speedup}` +
    ` (vudo with the change graph built at load: ${row.vudo_eager_sync_ms} ms: x${row.eager_sync_speedup})\n` +
    `  load + sync: automerge-js ${row.automerge_js_total_ms} ms, vudo ${row.vudo_total_ms} ms: ` +
    `x${row.total_speedup} (graph at load: ${row.vudo_eager_total_ms} ms: x${row.eager_total_speedup})\n` +
    `  wire: automerge-js ${js.bytes} B, vudo ${vudo.bytes} B; ` +
    `rounds ${js.rounds} / ${vudo.rounds}`);
}
fs.writeFileSync(path.join(CACHE, 'automerge_sync_results.json'), JSON.stringify(results, null, 1) + '\n');

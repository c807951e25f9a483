// Interop: vudo's Automerge engine against npm @automerge/automerge 3.5.0.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { A, VUDO, SHARED, vudo, inspect, jsInspect, randomScript, hex } = require('./automerge/lib');

const VEC = path.join(SHARED, 'testdata', 'automerge', 'vectors');
const CORPUS = path.join(SHARED, 'testdata', 'automerge', 'corpus');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vudo-am-'));
const write = (name, bytes) => { const p = path.join(tmp, name); fs.writeFileSync(p, bytes); return p; };

test('vudo binary exists', () => {
  assert.ok(fs.existsSync(VUDO), `VUDO_BIN ${VUDO} missing: build the vudo target first`);
});

function checkSame(file, bytes) {
  const ours = inspect(file);
  const js = jsInspect(A.load(bytes));
  assert.deepStrictEqual(ours.heads, js.heads, `${file}: heads`);
  assert.strictEqual(ours.changes, js.changes, `${file}: change count`);
  assert.deepStrictEqual(ours.value, js.value, `${file}: value`);
}

test('vectors load with the heads and value automerge-js gives', () => {
  const files = ['todo.automerge', 'empty.automerge'].map((f) => path.join(VEC, 'bin', f));
  for (const f of files) checkSame(f, fs.readFileSync(f));
  const extra = JSON.parse(fs.readFileSync(path.join(VEC, 'extra_vectors.json')));
  const saved = Buffer.from(extra.saveHex, 'hex');
  checkSame(write('extra.automerge', saved), saved);
  const todo = JSON.parse(fs.readFileSync(path.join(VEC, 'todo_changes.json')));
  const concat = Buffer.concat(todo.changes.map((c) => Buffer.from(c.hex, 'hex')));
  checkSame(write('changes.bin', concat), concat);
  const both = Buffer.concat([saved, Buffer.from(A.saveIncremental(A.change(A.load(saved), { time: 9 }, (d) => { d.more = 1; })))]);
  // document followed by a change
  checkSame(write('doc_plus_change.bin', both), both);
});

test('every corpus document loads like automerge-js', () => {
  for (const name of fs.readdirSync(CORPUS).sort()) {
    const file = path.join(CORPUS, name);
    if (name.endsWith('.amrgsync')) {
      // Not a document: a sync message (the sync tests own it). vudo must refuse it cleanly.
      const r = vudo(['doc', 'inspect', file]);
      assert.notStrictEqual(r.status, 0);
      assert.match(r.stderr, /^vudo: /);
      continue;
    }
    checkSame(file, fs.readFileSync(file));
  }
});

test('corrupted copies are refused with a clear error', () => {
  const good = fs.readFileSync(path.join(VEC, 'bin', 'todo.automerge'));
  const cases = [];
  const badSum = Buffer.from(good); badSum[5] ^= 0xff; cases.push(['checksum', badSum]);
  for (const n of [3, 9, 20, good.length - 1]) cases.push([`truncated to ${n}`, good.subarray(0, n)]);
  const badBody = Buffer.from(good); badBody[40] ^= 0x55; cases.push(['body byte', badBody]);
  for (const [label, bytes] of cases) {
    const r = vudo(['doc', 'inspect', write('bad.automerge', bytes)]);
    assert.notStrictEqual(r.status, 0, label);
    assert.match(r.stderr, /^vudo: .+/, label);
    assert.throws(() => A.load(bytes), label);
  }
});

function applyOps(script, opts = []) {
  const sp = write(`script-${Math.random().toString(36).slice(2)}.json`, JSON.stringify(script));
  const out = sp.replace(/\.json$/, '.am');
  const dir = sp.replace(/\.json$/, '.changes');
  const r = vudo(['doc', 'apply-ops', sp, out, '--changes-out', dir, ...opts]);
  assert.strictEqual(r.status, 0, r.stderr);
  const changes = fs.existsSync(dir) ? fs.readdirSync(dir).sort().map((f) => hex(fs.readFileSync(path.join(dir, f)))) : [];
  return { saved: fs.readFileSync(out), file: out, changes };
}

test('random edit scripts give byte-identical change chunks and hashes', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const actor = hex(Buffer.alloc(16, seed));
    const js = randomScript(seed, actor, null);
    const ours = applyOps(js.script);
    assert.deepStrictEqual(ours.changes, js.changes, `seed ${seed}: ${JSON.stringify(js.script)}`);
    const loaded = A.load(ours.saved);
    assert.deepStrictEqual([...A.getHeads(loaded)].sort(), [...A.getHeads(js.doc)].sort(), `seed ${seed}: heads`);
    assert.deepStrictEqual(jsInspect(loaded).value, jsInspect(js.doc).value, `seed ${seed}: value`);
  }
});

test('concurrent actors: forks, merge, conflict resolution stay byte-identical', () => {
  for (let seed = 100; seed < 125; seed++) {
    const a = randomScript(seed, 'aa'.repeat(16), null, 3);
    const baseA = applyOps(a.script);
    assert.deepStrictEqual(baseA.changes, a.changes);
    // Two actors edit the same base concurrently.
    const b = randomScript(seed + 1000, 'bb'.repeat(16), a.doc, 3);
    const c = randomScript(seed + 2000, '0c'.repeat(16), a.doc, 3);
    const ob = applyOps(b.script, ['--base', baseA.file]);
    const oc = applyOps(c.script, ['--base', baseA.file]);
    assert.deepStrictEqual(ob.changes, b.changes, `seed ${seed} B`);
    assert.deepStrictEqual(oc.changes, c.changes, `seed ${seed} C`);
    // Merge (a document followed by another document) and compare.
    const mergedJs = A.merge(A.clone(b.doc), c.doc);
    const mergedFile = write(`merged-${seed}.am`, Buffer.concat([ob.saved, oc.saved]));
    const mi = inspect(mergedFile);
    const ji = jsInspect(mergedJs);
    assert.deepStrictEqual(mi.heads, ji.heads, `seed ${seed} merged heads`);
    assert.deepStrictEqual(mi.value, ji.value, `seed ${seed} merged value`);
    // A third round on the merged state (resolves conflicts, edits merged lists).
    const d = randomScript(seed + 3000, 'dd'.repeat(16), mergedJs, 3);
    const od = applyOps(d.script, ['--base', mergedFile]);
    assert.deepStrictEqual(od.changes, d.changes, `seed ${seed} D`);
  }
});

test('documents saved by vudo load in automerge-js and vice versa', () => {
  for (let seed = 200; seed < 215; seed++) {
    const js = randomScript(seed, 'ab'.repeat(16), null, 8, 8);
    const ours = applyOps(js.script);
    // vudo -> js
    const l = A.load(ours.saved);
    assert.deepStrictEqual(jsInspect(l), jsInspect(js.doc));
    // vudo-saved, js re-saves, loads again: still equal; vudo loads the js save too.
    const resaved = A.save(l);
    assert.deepStrictEqual(jsInspect(A.load(resaved)), jsInspect(js.doc));
    const back = inspect(write(`resaved-${seed}.am`, resaved));
    assert.deepStrictEqual(back, jsInspect(js.doc));
    // js -> vudo
    const jsSaved = A.save(js.doc);
    assert.deepStrictEqual(inspect(write(`js-${seed}.am`, jsSaved)), jsInspect(js.doc));
    assert.ok(ours.saved.length <= jsSaved.length + 16, `seed ${seed}: our save ${ours.saved.length} vs js ${jsSaved.length}`);
  }
});

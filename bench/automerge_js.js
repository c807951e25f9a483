// automerge-paper trace: automerge-js 3.5 and bench_automerge (vudo) in the
// same run; prints each figure and vudo's speedup.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const A = require(path.join(ROOT, 'tests/interop/node_modules/@automerge/automerge'));
const SHARED = process.env.VUDO_SHARED_DIR || path.join(ROOT, '..', 'shared');
const TRACE = path.join(SHARED, 'testdata/traces/automerge-paper.json.gz');
const BIN = process.env.BENCH_BIN || path.join(ROOT, 'build/release/bench/bench_automerge');
const REPEAT = Number(process.env.REPEAT || 1);

const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(TRACE)));
const now = () => Number(process.hrtime.bigint()) / 1e6;

function runJs(perEdit) {
  const t0 = now();
  let doc = A.init({ actor: '01'.repeat(16) });
  doc = A.change(doc, { time: 0 }, (d) => { d.text = trace.startContent || ''; });
  if (perEdit) {
    for (const txn of trace.txns)
      doc = A.change(doc, { time: 0 }, (d) => { for (const [p, del, ins] of txn.patches) A.splice(d, ['text'], p, del, ins); });
  } else {
    doc = A.change(doc, { time: 0 }, (d) => {
      for (const txn of trace.txns) for (const [p, del, ins] of txn.patches) A.splice(d, ['text'], p, del, ins);
    });
  }
  const apply = now() - t0;
  if (doc.text !== trace.endContent) throw new Error('automerge-js: wrong final text');
  const t1 = now();
  const saved = A.save(doc);
  const save = now() - t1;
  const t2 = now();
  const l = A.load(saved);
  const load = now() - t2;
  if (l.text !== trace.endContent) throw new Error('automerge-js: reload differs');
  return { apply_ms: apply, save_ms: save, load_ms: load, saved_bytes: saved.length };
}

const r = spawnSync(BIN, [TRACE, String(REPEAT)], { encoding: 'utf8', maxBuffer: 1 << 24 });
if (r.status !== 0) { console.error(r.stderr); process.exit(1); }
const ours = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
const f = (x) => x.toFixed(1);
let failed = false;
for (const o of ours) {
  if (!o.text_ok || !o.reload_ok) { console.error('vudo: wrong result', o); failed = true; }
  const perEdit = o.mode === 'change_per_edit';
  let js = null;
  for (let i = 0; i < REPEAT; i++) {
    const x = runJs(perEdit);
    if (!js || x.apply_ms < js.apply_ms) js = { ...x, load_ms: Math.min(x.load_ms, js ? js.load_ms : Infinity) };
  }
  console.log(`automerge-paper ${o.mode} (${o.edits} edits, ${o.changes} changes)`);
  console.log(`  apply: vudo ${f(o.apply_ms)} ms, automerge-js ${f(js.apply_ms)} ms -> ${f(js.apply_ms / o.apply_ms)}x`);
  console.log(`  save:  vudo ${f(o.save_ms)} ms, automerge-js ${f(js.save_ms)} ms -> ${f(js.save_ms / o.save_ms)}x`);
  console.log(`  load:  vudo ${f(o.load_ms)} ms, automerge-js ${f(js.load_ms)} ms -> ${f(js.load_ms / o.load_ms)}x`);
  console.log(`  load incl. change graph + heads check: vudo ${f(o.load_verified_ms)} ms -> ${f(js.load_ms / o.load_verified_ms)}x`);
  console.log(`  size:  vudo ${o.saved_bytes} B, automerge-js ${js.saved_bytes} B`);
  console.log(`  vudo peak RSS while applying: ${f(o.peak_rss_apply_mb)} MB (process RSS before: ${f(o.rss_before_mb)} MB)`);
}
process.exit(failed ? 1 : 0);

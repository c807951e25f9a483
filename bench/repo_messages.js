// automerge-repo message codec: vudo (typed decode with validation, typed
// encode) vs automerge-repo 2.5's own cbor helper (cbor-x decode to objects,
// encode of objects), same messages, same run. Sets: the 29 committed message
// vectors (real frames of a live exchange plus hand-built shapes), and sync
// messages carrying 1 MiB of data. Prints ns per pass and the ratio
// (automerge-repo time / vudo time: above 1 means vudo is faster).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const BENCH_BIN = process.env.BENCH_BIN || path.join(ROOT, 'build/release/bench/bench_repo_messages');
const REPEAT = Number(process.env.REPEAT || 5);

async function main() {
  const { cbor } = await import(path.join(ROOT, 'tests/interop/node_modules/@automerge/automerge-repo/dist/index.js'));
  const vectors = JSON.parse(fs.readFileSync(path.join(ROOT, 'src/repo/testdata/repo_message_vectors.json'), 'utf8'));
  const doc = '235mYAaFq3G2SdRxKfhYPkevRi8P';
  const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 31) & 0xff);
  const sets = [
    { name: 'vectors (29 messages)', iterations: 2000, lines: vectors.messages.map(v => v.cbor) },
    {
      name: 'sync 1 MiB x 4', iterations: 20,
      lines: [0, 1, 2, 3].map(i => Buffer.from(cbor.encode({ type: 'sync', targetId: 'b' + i, data: big, documentId: doc, senderId: 'a' })).toString('hex')),
    },
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-repo-'));
  try {
    console.log('set'.padEnd(24), 'op'.padEnd(7), 'vudo'.padStart(12), 'automerge-repo'.padStart(16), 'ratio'.padStart(8));
    for (const set of sets) {
      const file = path.join(dir, set.name.replace(/\W+/g, '_'));
      fs.writeFileSync(file, set.lines.join('\n') + '\n');
      const r = spawnSync(BENCH_BIN, [file, '--iterations', String(set.iterations), '--repeat', String(REPEAT)], { encoding: 'utf8', timeout: 600000 });
      if (r.status !== 0) throw new Error(`bench_repo_messages failed: ${r.stderr}`);
      const vudo = JSON.parse(r.stdout.trim().split('\n').pop());

      const bytes = set.lines.map(h => Buffer.from(h, 'hex'));
      const objects = bytes.map(b => cbor.decode(b));
      let bestDecode = Infinity, bestEncode = Infinity, sink = 0;
      for (let rep = 0; rep < REPEAT; rep++) {
        let t = process.hrtime.bigint();
        for (let i = 0; i < set.iterations; i++) for (const b of bytes) sink += cbor.decode(b).type.length;
        bestDecode = Math.min(bestDecode, Number(process.hrtime.bigint() - t) / set.iterations);
        t = process.hrtime.bigint();
        for (let i = 0; i < set.iterations; i++) for (const o of objects) sink += cbor.encode(o).length;
        bestEncode = Math.min(bestEncode, Number(process.hrtime.bigint() - t) / set.iterations);
      }
      const row = (op, v, js) => console.log(set.name.padEnd(24), op.padEnd(7), `${(v / 1000).toFixed(1)} us`.padStart(12), `${(js / 1000).toFixed(1)} us`.padStart(16), (js / v).toFixed(2).padStart(8));
      row('decode', vudo.decode_ns, bestDecode);
      row('encode', vudo.encode_ns, bestEncode);
      if (sink < 0) console.log(sink);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
main().catch(e => { console.error(e); process.exit(1); });

// Durability: kill -9 a node while todos are added as fast as possible; after
// a restart every todo that `vudo todo add` reported as saved is there.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Node, VUDO, tmpDir, sleep } = require('./nodes');

// Adds todos one after another until stopped; resolves with the titles the
// CLI reported as saved.
function adder(dataDir, prefix) {
  const saved = [];
  let stop = false;
  const done = (async () => {
    for (let i = 0; !stop && i < 10000; i++) {
      const title = `${prefix}-${i}`;
      const r = await new Promise((resolve) => {
        const p = spawn(VUDO, ['todo', '--data-dir', dataDir, '--json', 'add', title]);
        let out = '';
        p.stdout.on('data', (d) => { out += d; });
        p.on('exit', (code) => resolve({ code, out }));
      });
      try {
        const answer = JSON.parse(r.out.trim().split('\n').pop());
        if (r.code === 0 && answer.ok && answer.saved) saved.push(title);
      } catch { /* no answer: not saved */ }
    }
    return saved;
  })();
  return { stop: () => { stop = true; return done; } };
}

test('kill -9 while adding: nothing reported as saved is lost (20 rounds)', async (t) => {
  const dir = tmpDir();
  const dataDir = path.join(dir, 'node');
  let node = await Node.start(dataDir);
  t.after(async () => { await node.stop(); });
  const allSaved = [];
  for (let round = 0; round < 20; round++) {
    const a = adder(dataDir, `r${round}`);
    await sleep(100 + Math.floor(Math.random() * 300));
    await node.kill9();
    const saved = await a.stop();
    allSaved.push(...saved);
    node = await Node.start(dataDir);
    const titles = new Set(node.titles());
    const lost = allSaved.filter((s) => !titles.has(s));
    assert.deepEqual(lost, [], `round ${round}: saved todos lost after kill -9`);
  }
  assert.ok(allSaved.length >= 20, `only ${allSaved.length} todos were saved in 20 rounds`);
});

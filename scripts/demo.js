// The main job (`make demo`): two vudo nodes on loopback share a TodoApp
// document over QUIC; both add todos, both toggle the same todo at once, and
// they converge. Prints what happens and a metrics table, then stops both.
'use strict';
const path = require('node:path');
const { Node, todo, tmpDir, waitFor, vudoSync } = require('../tests/integration/nodes');

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const show = (name, node) => {
  console.log(`  ${name}:`);
  for (const [i, t] of node.list().todos.entries())
    console.log(`    ${i + 1}. [${t.done ? 'x' : ' '}] ${t.title}`);
};

(async () => {
  const dir = tmpDir('vudo-demo-');
  console.log('== starting two nodes on loopback (fresh identities in a temporary dir)');
  const alice = await Node.start(path.join(dir, 'alice'));
  console.log(`  alice ${alice.id.slice(0, 16)}...  doc ${alice.ready.doc}`);
  console.log(`  ticket ${alice.ticket}`);
  let bob = await Node.start(path.join(dir, 'bob'), ['--connect', alice.ticket]);
  try {
    const conn = await waitFor('bob connects', () => bob.event('peer-connected'));
    await waitFor('bob adopts the doc', () => bob.event('doc-adopted'));
    console.log(`  bob   ${bob.id.slice(0, 16)}...  connected directly to ${conn.address} in ${conn.connect_ms} ms`);

    console.log('\n== each adds todos (each one durable on disk before it is reported saved)');
    for (const t of ['Buy milk', 'Book the flights']) console.log(`  alice: ${todo(alice.dataDir, 'add', t).answer.saved ? 'saved' : 'FAILED'} "${t}"`);
    for (const t of ['Water the plants']) console.log(`  bob:   ${todo(bob.dataDir, 'add', t).answer.saved ? 'saved' : 'FAILED'} "${t}"`);
    await waitFor('both see 3 todos', () => alice.titles().length === 3 && same(alice.titles(), bob.titles()));
    show('alice', alice);
    show('bob', bob);

    console.log('\n== bob goes offline; both toggle todo 1 and edit the title of todo 2');
    await bob.stop();
    todo(alice.dataDir, 'toggle', '1');
    todo(alice.dataDir, 'edit', '2', 'Book the flights to Lisbon');
    todo(bob.dataDir, 'toggle', '1');  // no node runs: edits bob's data dir
    todo(bob.dataDir, 'edit', '2', 'Book the cheap flights');
    show('alice', alice);
    console.log('  bob (offline):');
    for (const [i, t] of todo(bob.dataDir, 'list').answer.todos.entries())
      console.log(`    ${i + 1}. [${t.done ? 'x' : ' '}] ${t.title}`);
    console.log('\n== bob comes back: the edits merge without conflicts');
    bob = await Node.start(bob.dataDir, ['--connect', alice.ticket]);
    await waitFor('converged', () => same(alice.doc().heads, bob.doc().heads), 15000);
    show('alice', alice);
    show('bob', bob);
    const same_doc = same(alice.doc().value, bob.doc().value);
    console.log(`  converged: ${same_doc ? 'yes, identical documents' : 'NO'} (heads ${alice.doc().heads.map((h) => h.slice(0, 8)).join(',')})`);

    console.log('\n== metrics');
    const rows = [];
    for (const [name, n] of [['alice', alice], ['bob', bob]]) {
      const s = n.status();
      const p = s.peers[0] || {};
      const lat = s.metrics.sync_latency_ms;
      rows.push([name, p.state, p.address, p.connect_ms ?? '-', p.handshake_ms?.toFixed(2) ?? '-',
                 p.rtt_us ?? '-', lat.count ? lat.mean.toFixed(1) : '-', lat.count ? lat.max.toFixed(1) : '-',
                 p.bytes_sent ?? '-', p.bytes_received ?? '-', s.metrics.changes_received]);
    }
    const head = ['node', 'peer', 'address', 'connect ms', 'handshake ms', 'rtt us', 'sync ms avg',
                  'sync ms max', 'bytes out', 'bytes in', 'changes in'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
    const fmt = (r) => '  ' + r.map((c, i) => String(c).padEnd(w[i])).join('  ');
    console.log(fmt(head));
    for (const r of rows) console.log(fmt(r));
    if (!same_doc) process.exitCode = 1;
  } finally {
    console.log('\n== stopping');
    await alice.stop();
    await bob.stop();
    console.log('  both nodes stopped cleanly');
  }
})().catch((e) => { console.error('demo failed:', e); process.exit(1); });

// Integration tests: real vudo nodes as processes on loopback.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const fs = require('node:fs');
const { Node, todo, tmpDir, waitFor } = require('./nodes');

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

test('two nodes: add, toggle and edit on each; both converge', async (t) => {
  const dir = tmpDir();
  const a = await Node.start(path.join(dir, 'a'));
  const b = await Node.start(path.join(dir, 'b'), ['--connect', a.ticket]);
  t.after(async () => { await a.stop(); await b.stop(); });
  await waitFor('b adopts a\'s doc', () => b.event('doc-adopted'));
  assert.equal(b.event('doc-adopted').doc, a.ready.doc);
  assert.ok(b.event('peer-connected').connect_ms >= 0);

  assert.equal(todo(a.dataDir, 'add', 'Buy milk').answer.saved, true);
  assert.equal(todo(b.dataDir, 'add', 'Walk the dog').answer.saved, true);
  await waitFor('both todos on both', () =>
    same(a.titles(), ['Buy milk', 'Walk the dog']) && same(b.titles(), a.titles()));
  todo(a.dataDir, 'toggle', '1');
  todo(b.dataDir, 'edit', '2', 'Walk the cat');
  await waitFor('edits on both', () => {
    const la = a.list().todos, lb = b.list().todos;
    return same(la, lb) && la[0].done && la[1].title === 'Walk the cat';
  });
  // Concurrent toggles of the same todo: one winner, the same everywhere.
  todo(a.dataDir, 'toggle', '2');
  todo(b.dataDir, 'toggle', '2');
  await waitFor('same document', () => same(a.doc().heads, b.doc().heads));
  assert.deepEqual(a.doc().value, b.doc().value);
  // The receiving node measured sync latency from the changes' timestamps.
  const measured = await waitFor('a sync latency on b',
    () => b.event('changes', (e) => e.latency_ms !== undefined));
  assert.ok(measured.latency_ms >= 0 && measured.latency_ms < 5000);
});

test('three nodes, one joining late, one restarted from its data dir', async (t) => {
  const dir = tmpDir();
  const a = await Node.start(path.join(dir, 'a'));
  const b = await Node.start(path.join(dir, 'b'), ['--connect', a.ticket]);
  const bPort = b.ready.bound[0].split(':').pop();
  const nodes = [a, b];
  t.after(async () => { for (const n of nodes) await n.stop(); });
  for (let i = 0; i < 5; i++) todo(a.dataDir, 'add', `a${i}`);
  for (let i = 0; i < 5; i++) todo(b.dataDir, 'add', `b${i}`);
  // c joins late, through b only.
  const c = await Node.start(path.join(dir, 'c'), ['--connect', b.ticket, '--doc', a.ready.doc]);
  nodes.push(c);
  await waitFor('c catches up', () => c.titles().length === 10, 15000);
  todo(c.dataDir, 'add', 'from c');
  await waitFor('a sees c\'s todo (relayed by b)', () => a.titles().includes('from c'));
  // Restart b from its data dir: it keeps everything and resumes syncing.
  await b.stop();
  todo(a.dataDir, 'add', 'while b was down');
  // Same port, so that c's ticket for b is still good.
  const b2 = await Node.start(b.dataDir, ['--connect', a.ticket, '--port', bPort]);
  nodes.push(b2);
  assert.equal(b2.ready.node_id, b.ready.node_id, 'same identity after restart');
  assert.equal(b2.ready.doc, a.ready.doc, 'same document after restart');
  await waitFor('all three converge', () => {
    const ha = a.doc().heads, hb = b2.doc().heads, hc = c.doc().heads;
    return same(ha, hb) && same(hb, hc) && a.titles().length === 12;
  }, 15000);
  assert.deepEqual(c.titles(), a.titles());
});

test('partition by killing a node: edits on both sides, it reconnects by itself', async (t) => {
  const dir = tmpDir();
  const a = await Node.start(path.join(dir, 'a'), ['--port', '0']);
  const port = Number(a.ready.bound[0].split(':').pop());
  const b = await Node.start(path.join(dir, 'b'), ['--connect', a.ticket]);
  const nodes = [a, b];
  t.after(async () => { for (const n of nodes) await n.stop(); });
  todo(a.dataDir, 'add', 'before');
  await waitFor('b has it', () => b.titles().includes('before'));
  await a.kill9();
  await waitFor('b notices', () => b.event('peer-disconnected'), 10000);
  todo(b.dataDir, 'add', 'b during partition');
  todo(a.dataDir, 'add', 'a during partition');  // offline, on a's data dir
  const a2 = await Node.start(a.dataDir, ['--port', String(port)]);
  nodes.push(a2);
  await waitFor('b reconnects by itself', () => b.event('peer-connected', (e) => e.reconnect_ms !== undefined), 15000);
  await waitFor('converged', () => same(a2.titles(), b.titles()) && a2.titles().length === 3, 10000);
  assert.deepEqual(a2.titles(), ['a during partition', 'b during partition', 'before']);
});

test('access control: a node not on the allow-list cannot read or change the document', async (t) => {
  const dir = tmpDir();
  const friendDir = path.join(dir, 'friend');
  const strangerDir = path.join(dir, 'stranger');
  // Identities first, to write the owner's config.
  const friendId = require('./nodes').vudoSync(['id', '--data-dir', friendDir]).stdout.trim();
  const strangerId = require('./nodes').vudoSync(['id', '--data-dir', strangerDir]).stdout.trim();
  const ownerDir = path.join(dir, 'owner');
  fs.mkdirSync(ownerDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(ownerDir, 'config.json'), JSON.stringify({
    documents: { '*': { read: [friendId], write: [friendId] } },
  }));
  const owner = await Node.start(ownerDir);
  todo(ownerDir, 'add', 'private');
  const friend = await Node.start(friendDir, ['--connect', owner.ticket, '--doc', owner.ready.doc]);
  const stranger = await Node.start(strangerDir, ['--connect', owner.ticket, '--doc', owner.ready.doc]);
  t.after(async () => { await owner.stop(); await friend.stop(); await stranger.stop(); });
  await waitFor('friend reads it', () => same(friend.titles(), ['private']));
  await waitFor('stranger connected', () => stranger.event('peer-connected'));
  todo(strangerDir, 'add', 'intrusion');
  todo(friendDir, 'add', 'welcome');
  await waitFor('owner has the friend\'s edit', () => owner.titles().includes('welcome'));
  // Give the stranger's edit every chance to arrive.
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(!owner.titles().includes('intrusion'), 'stranger could write');
  assert.ok(!stranger.titles().includes('private'), 'stranger could read');
  assert.deepEqual(owner.titles(), ['private', 'welcome']);
});

test('peers refused at the handshake by the allow-list', async (t) => {
  const dir = tmpDir();
  const ownerDir = path.join(dir, 'owner');
  fs.mkdirSync(ownerDir, { recursive: true, mode: 0o700 });
  const friendDir = path.join(dir, 'friend');
  const friendId = require('./nodes').vudoSync(['id', '--data-dir', friendDir]).stdout.trim();
  fs.writeFileSync(path.join(ownerDir, 'config.json'), JSON.stringify({ peers: [friendId] }));
  const owner = await Node.start(ownerDir);
  const other = await Node.start(path.join(dir, 'other'), ['--connect', owner.ticket]);
  t.after(async () => { await owner.stop(); await other.stop(); });
  await waitFor('refused', () => other.event('dial-failed'), 10000);
  assert.match(other.event('dial-failed').error, /refused/i);
  assert.equal(other.count('peer-connected'), 0);
});

test('garbage on the repo ALPN: those connections are dropped, the node keeps serving', async (t) => {
  const { vudoSync } = require('./nodes');
  const dir = tmpDir();
  const a = await Node.start(path.join(dir, 'a'));
  const b = await Node.start(path.join(dir, 'b'), ['--connect', a.ticket]);
  t.after(async () => { await a.stop(); await b.stop(); });
  todo(a.dataDir, 'add', 'keep me');
  await waitFor('b has it', () => same(b.titles(), ['keep me']));
  // Bulk bytes and 1-byte echoes: not a repo handshake, not CBOR.
  for (let i = 0; i < 3; i++) {
    vudoSync(['net', 'bench', a.ticket, '--alpn', 'iroh/automerge-repo/1', '--bytes', '1000000', '--timeout', '5']);
    vudoSync(['net', 'ping', a.ticket, '--alpn', 'iroh/automerge-repo/1', '--count', '2', '--timeout', '2']);
  }
  // a still serves b, and its data is intact.
  todo(b.dataDir, 'add', 'still syncing');
  await waitFor('a gets b\'s edit', () => same(a.titles(), ['keep me', 'still syncing']));
  const peers = a.status().peers.filter((p) => p.state === 'connected');
  assert.deepEqual(peers.map((p) => p.id), [b.id]);
});

test('--metrics serves Prometheus text over HTTP', async (t) => {
  const dir = tmpDir();
  const a = await Node.start(path.join(dir, 'a'), ['--metrics', '127.0.0.1:0']);
  const b = await Node.start(path.join(dir, 'b'), ['--connect', a.ticket]);
  t.after(async () => { await a.stop(); await b.stop(); });
  const port = a.ready.metrics_port;
  assert.ok(port > 0);
  todo(b.dataDir, 'add', 'counted');
  await waitFor('a received it', () => same(a.titles(), ['counted']));
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/plain/);
  const text = await res.text();
  assert.match(text, /^# TYPE vudo_peers_connected gauge$/m);
  assert.match(text, /^vudo_peers_connected 1$/m);
  const changes = Number(text.match(/^vudo_changes_received_total (\d+)$/m)[1]);
  assert.ok(changes >= 1, text);
  assert.match(text, new RegExp(`^vudo_peer_rtt_us\\{peer="${b.id}"\\} \\d+`, 'm'));
  assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);
});

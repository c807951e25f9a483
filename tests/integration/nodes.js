// Helpers to run vudo nodes as processes on loopback and wait for them.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const VUDO = process.env.VUDO_BIN
  ? path.resolve(process.env.VUDO_BIN)
  : path.join(ROOT, 'build', 'release', 'src', 'cli', 'vudo');
if (!fs.existsSync(VUDO)) throw new Error(`no vudo binary at ${VUDO}: run make build`);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tmpDir(prefix = 'vudo-it-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

// Polls fn() until it returns a truthy value or timeoutMs passes (throws).
async function waitFor(what, fn, timeoutMs = 10000, stepMs = 20) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(stepMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
}

// Runs `vudo todo ...` against a data dir; returns the parsed JSON answer.
function todo(dataDir, ...args) {
  const r = spawnSync(VUDO, ['todo', '--data-dir', dataDir, '--json', ...args],
                      { encoding: 'utf8', timeout: 30000 });
  if (r.error) throw r.error;
  const line = r.stdout.trim().split('\n').pop() || '{}';
  return { status: r.status, answer: JSON.parse(line), stderr: r.stderr };
}

function vudoSync(args) {
  const r = spawnSync(VUDO, args, { encoding: 'utf8', timeout: 30000 });
  if (r.error) throw r.error;
  return r;
}

// A running `vudo start --json` process and the events it printed.
class Node {
  constructor(dataDir, extraArgs = []) {
    this.dataDir = dataDir;
    this.events = [];
    this.proc = spawn(VUDO, ['start', '--data-dir', dataDir, '--bind', '127.0.0.1',
                             '--bind6', '', '--no-mdns', '--json', ...extraArgs],
                      { stdio: ['ignore', 'pipe', 'pipe'] });
    this.stderr = '';
    let buf = '';
    this.proc.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try { this.events.push(JSON.parse(line)); } catch { /* not JSON */ }
      }
    });
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    this.exited = new Promise((r) => this.proc.on('exit', (code, sig) => r({ code, sig })));
  }
  static async start(dataDir, extraArgs = []) {
    const n = new Node(dataDir, extraArgs);
    n.ready = await waitFor(`node ${dataDir} ready (stderr: ${n.stderr})`,
                            () => n.events.find((e) => e.event === 'ready'));
    return n;
  }
  get ticket() { return this.ready.ticket; }
  get id() { return this.ready.node_id; }
  event(type, pred = () => true) { return this.events.find((e) => e.event === type && pred(e)); }
  count(type, pred = () => true) { return this.events.filter((e) => e.event === type && pred(e)).length; }
  status() { return JSON.parse(vudoSync(['status', '--data-dir', this.dataDir]).stdout); }
  list() { return todo(this.dataDir, 'list').answer; }
  titles() { return (this.list().todos || []).map((t) => t.title).sort(); }
  doc() { return todo(this.dataDir, 'json').answer; }
  async stop() {
    if (this.proc.exitCode !== null || this.proc.signalCode) return this.exited;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
  async kill9() {
    this.proc.kill('SIGKILL');
    return this.exited;
  }
}

// Stops every node given, even when a test failed.
function cleanup(nodes) {
  return async () => { for (const n of nodes) if (n) await n.stop(); };
}

module.exports = { VUDO, Node, todo, vudoSync, tmpDir, waitFor, sleep, cleanup };

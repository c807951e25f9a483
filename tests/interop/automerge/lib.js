// Helpers for the automerge interop tests: run vudo, convert automerge-js
// values the way `vudo doc inspect` prints them, generate random edit
// scripts and apply them with automerge-js.
'use strict';
const A = require('@automerge/automerge');
const { execFileSync, spawnSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const VUDO = process.env.VUDO_BIN || path.join(ROOT, 'build', 'release', 'src', 'cli', 'vudo');
const SHARED = path.resolve(ROOT, '..', 'shared');

function vudo(args, opts = {}) {
  const r = spawnSync(VUDO, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, error: r.error };
}

function inspect(file) {
  const r = vudo(['doc', 'inspect', file]);
  if (r.status !== 0) throw new Error(`vudo doc inspect ${file} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const hex = (b) => Buffer.from(b).toString('hex');

// automerge-js value -> inspect JSON.
function toInspect(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v instanceof A.Counter) return v.value;
  if (v instanceof Date) return v.getTime();
  if (v instanceof Uint8Array) return hex(v);
  if (A.isImmutableString && A.isImmutableString(v)) return v.toString();
  if (Array.isArray(v)) return v.map(toInspect);
  const o = {};
  for (const k of Object.keys(v)) o[k] = toInspect(v[k]);
  return o;
}

function jsInspect(doc) {
  return { heads: [...A.getHeads(doc)].sort(), changes: A.getAllChanges(doc).length, value: toInspect(A.toJS(doc)) };
}

// ---- deterministic PRNG (mulberry32) ----
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['a', 'bc', 'héllo', '日本', 'x😀y', 'k', ' ', 'end', 'zz', 'ß'];

function randomScalar(r, nested) {
  switch (Math.floor(r() * 10)) {
    // automerge-js 3.5 stores 0 and negative integers nested in an object or
    // array literal as f64 (JS-side inference); nested ints stay positive.
    case 0: return nested ? 1 + Math.floor(r() * 1000) : Math.floor(r() * 2000) - 1000;
    case 1: return Math.floor(r() * 1000) / 8 + 0.0625;       // f64
    case 2: return { str: WORDS[Math.floor(r() * WORDS.length)] };
    case 3: return { counter: Math.floor(r() * 50) };
    // automerge-js 3.5 turns an A.Uint nested in an object literal into a map
    // {value: n} (a JS-side quirk), so uints are only put at the top level.
    case 4: return nested ? Math.floor(r() * 100000) : { uint: Math.floor(r() * 100000) };
    case 5: return { timestamp: 1700000000000 + Math.floor(r() * 1e6) };
    case 6: return { bytes: Buffer.from([Math.floor(r() * 256), 7]).toString('hex') };
    case 7: return r() < 0.5;
    case 8: return null;
    default: return nested ? 1 + Math.floor(r() * 9) : Math.floor(r() * 10);
  }
}

function randomValue(r, depth = 0) {
  const x = r();
  if (depth < 2 && x < 0.12) {
    const o = {};
    const n = Math.floor(r() * 3);
    for (let i = 0; i < n; i++) o[WORDS[Math.floor(r() * WORDS.length)] + i] = randomValue(r, depth + 1);
    return o;
  }
  if (depth < 2 && x < 0.22) {
    const n = Math.floor(r() * 3);
    const a = [];
    for (let i = 0; i < n; i++) a.push(randomValue(r, depth + 1));
    return a;
  }
  if (x < 0.35) return WORDS[Math.floor(r() * WORDS.length)];  // text
  return randomScalar(r, depth > 0);
}

// Script value -> automerge-js value.
function toJs(v) {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(toJs);
  const keys = Object.keys(v);
  if (keys.length === 1) {
    const [k] = keys, x = v[k];
    if (k === 'str') return new A.ImmutableString(x);
    if (k === 'counter') return new A.Counter(x);
    if (k === 'uint') return new A.Uint(x);
    if (k === 'timestamp') return new Date(x);
    if (k === 'bytes') return new Uint8Array(Buffer.from(x, 'hex'));
  }
  const o = {};
  for (const k of keys) o[k] = toJs(v[k]);
  return o;
}

// Objects reachable in a (proxy) doc: [{path, kind, obj}].
function objectsOf(d) {
  const out = [];
  const walk = (obj, p) => {
    if (typeof obj === 'string') return;
    if (Array.isArray(obj)) {
      out.push({ path: p, kind: 'list', obj });
      obj.forEach((x, i) => { if (x && typeof x === 'object' && !(x instanceof A.Counter) && !(x instanceof Date) && !(x instanceof Uint8Array) && !A.isImmutableString(x)) walk(x, [...p, i]); });
      return;
    }
    out.push({ path: p, kind: 'map', obj });
    for (const k of Object.keys(obj)) {
      const x = obj[k];
      if (typeof x === 'string') out.push({ path: [...p, k], kind: 'text', obj: x });
      else if (x && typeof x === 'object' && !(x instanceof A.Counter) && !(x instanceof Date) && !(x instanceof Uint8Array) && !A.isImmutableString(x)) walk(x, [...p, k]);
    }
  };
  walk(d, []);
  return out;
}

function getAt(d, p) { let x = d; for (const k of p) x = x[k]; return x; }

// Keeps a UTF-16 index off the middle of a surrogate pair.
function fixIndex(s, i) {
  if (i > 0 && i < s.length) {
    const c = s.charCodeAt(i - 1);
    if (c >= 0xd800 && c <= 0xdbff) return i - 1;
  }
  return i;
}

// Generates one random op against the proxy `d`, applies it, returns it.
function randomOp(r, d) {
  const objs = objectsOf(d);
  const o = objs[Math.floor(r() * objs.length)];
  const pick = (n) => Math.floor(r() * n);
  if (o.kind === 'map') {
    const keys = Object.keys(o.obj);
    const x = r();
    const counters = keys.filter((k) => o.obj[k] instanceof A.Counter);
    if (x < 0.15 && counters.length) {
      const k = counters[pick(counters.length)], by = pick(21) - 10;
      o.obj[k].increment(by);
      return { op: 'increment', path: [...o.path, k], by };
    }
    if (x < 0.3 && keys.length) {
      const k = keys[pick(keys.length)];
      delete o.obj[k];
      return { op: 'delete', path: [...o.path, k] };
    }
    const k = x < 0.5 && keys.length ? keys[pick(keys.length)] : 'k' + pick(8);
    const value = randomValue(r);
    o.obj[k] = toJs(value);
    return { op: 'put', path: [...o.path, k], value };
  }
  if (o.kind === 'list') {
    const n = o.obj.length, x = r();
    if (x < 0.1 && n) {
      const idx = o.obj.findIndex((v) => v instanceof A.Counter);
      if (idx >= 0) { const by = pick(9) - 4; o.obj[idx].increment(by); return { op: 'increment', path: [...o.path, idx], by }; }
    }
    if (x < 0.3 && n) { const i = pick(n); o.obj.deleteAt(i); return { op: 'delete', path: [...o.path, i] }; }
    if (x < 0.45 && n) { const i = pick(n), value = randomValue(r); o.obj[i] = toJs(value); return { op: 'put', path: [...o.path, i], value }; }
    const i = pick(n + 1), value = randomValue(r);
    o.obj.insertAt(i, toJs(value));
    return { op: 'insert', path: o.path, index: i, value };
  }
  // text
  const s = o.obj;
  const index = fixIndex(s, pick(s.length + 1));
  let del = r() < 0.4 ? pick(Math.min(4, s.length - index) + 1) : 0;
  del = fixIndex(s, index + del) - index;
  if (del < 0) del = 0;
  const text = r() < 0.8 ? WORDS[pick(WORDS.length)] : '';
  A.splice(d, o.path, index, del, text);
  return { op: 'splice', path: o.path, index, delete: del, text };
}

// Builds a random script for `actor` starting from `base` (a JS doc or
// null); returns {script, doc, changes: [hex...]} as automerge-js made them.
function randomScript(seed, actor, base, nChanges = 6, opsPerChange = 6) {
  const r = rng(seed);
  let doc = base ? A.clone(base, { actor }) : A.init({ actor });
  const script = { actor, changes: [] };
  const changes = [];
  for (let c = 0; c < nChanges; c++) {
    const time = 1700000000 + seed * 100 + c;
    const message = r() < 0.5 ? `change ${c}` : undefined;
    const ops = [];
    const before = A.getHeads(doc);
    doc = A.change(doc, message === undefined ? { time } : { time, message }, (d) => {
      const n = 1 + Math.floor(r() * opsPerChange);
      for (let i = 0; i < n; i++) ops.push(randomOp(r, d));
    });
    const entry = { time, ops };
    if (message !== undefined) entry.message = message;
    script.changes.push(entry);
    for (const ch of A.getChangesSince(doc, before)) changes.push(hex(ch));
  }
  return { script, doc, changes };
}

module.exports = { A, VUDO, SHARED, ROOT, vudo, inspect, jsInspect, toInspect, randomScript, hex };

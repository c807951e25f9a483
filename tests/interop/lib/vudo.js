// Shared helpers for interop tests: locate and run the vudo binary.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { spawnSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const VUDO_BIN = process.env.VUDO_BIN
  ? path.resolve(process.env.VUDO_BIN)
  : path.join(ROOT, 'build', 'release', 'src', 'cli', 'vudo');

if (!fs.existsSync(VUDO_BIN)) {
  throw new Error(`vudo binary not found at ${VUDO_BIN}: build first (make build) or set VUDO_BIN`);
}

// Runs vudo synchronously; returns {status, stdout, stderr}. Never throws on a
// non-zero exit: tests assert on status.
function vudo(args, opts = {}) {
  const r = spawnSync(VUDO_BIN, args, {
    encoding: opts.encoding || 'utf8',
    input: opts.input,
    env: { ...process.env, ...(opts.env || {}) },
    timeout: opts.timeout || 60000,
    maxBuffer: 256 << 20,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// A fresh temporary directory, removed when the process exits.
function tmpDir(prefix = 'vudo-interop-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

module.exports = { ROOT, VUDO_BIN, vudo, tmpDir };

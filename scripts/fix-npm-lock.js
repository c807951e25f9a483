// Some packages (@number0/iroh, cbor-extract) name optional per-platform
// packages that were never published, so the lock file npm writes lacks them
// and `npm ci` then refuses it. This adds a stub entry for each missing one
// (version, os, cpu, optional) so npm skips them on other platforms.
// Usage: node scripts/fix-npm-lock.js tests/interop/package-lock.json
'use strict';
const fs = require('fs');
const file = process.argv[2];
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const pkgs = lock.packages;
let added = 0;
for (const [path, meta] of Object.entries(pkgs)) {
  for (const [name, version] of Object.entries(meta.optionalDependencies || {})) {
    const key = `node_modules/${name}`;
    if (pkgs[key]) continue;
    const os = ['android', 'darwin', 'linux', 'win32', 'freebsd', 'openbsd', 'sunos']
                   .find((o) => name.includes(o)) || 'unknown';
    const cpu = ['arm64', 'x64', 'ia32', 'arm', 'riscv64', 'ppc64', 's390x']
                    .find((c) => name.includes(`-${c}`)) || 'unknown';
    pkgs[key] = { version: version.replace(/^[\^~]/, ''), optional: true, os: [os], cpu: [cpu] };
    added++;
  }
}
fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`fix-npm-lock: added ${added} stub entries`);

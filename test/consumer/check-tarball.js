#!/usr/bin/env node
/**
 * Checks the npm tarball: everything a user needs, nothing else, under the size budget.
 *
 *   node test/consumer/check-tarball.js <npm pack --json output> <tarball>
 *
 * Run from the repository root (the bundled dependencies' closure is read from node_modules/).
 */
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

// The npm package carries no dev-tool weight: the local gateway's CLI bundles what it needs (dynalite, ws) and no
// native binaries (LevelDB for --persist is the optional package classic-level, installed by whoever wants it).
const MAX_PACKED_BYTES = 2_000_000;
const HANDLERS = ['authorizer', 'connect', 'default', 'disconnect', 'ping', 'send-message'];

const [packJson, tarball] = process.argv.slice(2);
const pack = JSON.parse(fs.readFileSync(packJson, 'utf-8'))[0];
const packed = fs.statSync(tarball).size;
const files = pack.files.map((f) => ({ path: f.path, size: f.size }));
const paths = new Set(files.map((f) => f.path));

// The bundled dependencies and everything they depend on: the only packages allowed under node_modules/.
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf-8'));
const bundled = new Set();
const queue = [...(pkg.bundledDependencies ?? pkg.bundleDependencies ?? [])];
while (queue.length > 0) {
  const name = queue.shift();
  if (bundled.has(name)) continue;
  const manifest = path.join('node_modules', name, 'package.json');
  if (!fs.existsSync(manifest)) continue; // an optional dependency that is not installed
  bundled.add(name);
  const deps = JSON.parse(fs.readFileSync(manifest, 'utf-8'));
  queue.push(...Object.keys({ ...deps.dependencies, ...deps.optionalDependencies }));
}

/** Which part of the package a file belongs to, or undefined when it has no business being shipped. */
function category(file) {
  if (['package.json', 'README.md', 'LICENSE', 'API.md', '.jsii'].includes(file)) return file;
  if (/^lib\/.+\.(js|d\.ts)$/.test(file)) return 'lib/';
  if (/^assets\/handlers\/[a-z-]+\.lambda\/index\.js$/.test(file)) return 'assets/handlers/';
  // The local gateway's bundle and whatever it serves (no TypeScript sources, no source maps).
  if (/^assets\/local\//.test(file) && !/\.(ts|map)$/.test(file)) return 'assets/local/';
  if (/^rosetta\/[\w.-]+\.ts-fixture$/.test(file)) return 'rosetta/';
  const dep = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
  if (dep && bundled.has(dep[1])) return `node_modules/${dep[1]}`;
  return undefined;
}

const unexpected = files.filter((f) => category(f.path) === undefined).map((f) => f.path);
const native = files.filter((f) => /\.node$|(^|\/)prebuilds\//.test(f.path)).map((f) => f.path);
assert.deepEqual(native, [], `native binaries in the tarball:\n  ${native.join('\n  ')}`);
const devTools = ['dynalite', 'ws', 'level', 'classic-level'].filter((d) => d in (pkg.dependencies ?? {}) || (pkg.bundledDependencies ?? []).includes(d));
assert.deepEqual(devTools, [], 'the local gateway bundles these: they must not be dependencies of the package');
assert.deepEqual(unexpected, [], `files that should not be in the tarball:\n  ${unexpected.join('\n  ')}`);

const required = [
  'package.json', 'README.md', 'LICENSE', 'API.md', '.jsii', 'lib/index.js', 'lib/index.d.ts',
  'assets/local/cli/index.js', 'rosetta/default.ts-fixture',
  ...HANDLERS.map((h) => `assets/handlers/${h}.lambda/index.js`),
  ...[...(pkg.bundledDependencies ?? [])].map((d) => `node_modules/${d}/package.json`),
];
const missing = required.filter((f) => !paths.has(f));
assert.deepEqual(missing, [], `files missing from the tarball: ${missing.join(', ')}`);
const bin = pkg.bin?.['cdk-websocket-chat-local'];
assert.ok(bin && paths.has(bin), `the bin cdk-websocket-chat-local (${bin}) is not in the tarball`);

// Where the bytes go (unpacked), by part.
const byPart = new Map();
for (const f of files) {
  let part = category(f.path);
  if (part.startsWith('node_modules/')) part = part === 'node_modules/classic-level' ? part : 'node_modules/(other bundled)';
  byPart.set(part, (byPart.get(part) ?? 0) + f.size);
}
const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;
console.log(`tarball ${path.basename(tarball)}: ${mb(packed)} packed, ${mb(pack.unpackedSize)} unpacked, ${pack.entryCount} files`);
for (const [part, size] of [...byPart].sort((a, b) => b[1] - a[1])) console.log(`  ${mb(size).padStart(9)}  ${part}`);
console.log(`  bundled packages: ${[...bundled].sort().join(', ')}`);

assert.ok(packed < MAX_PACKED_BYTES, `the tarball is ${mb(packed)}: over the ${mb(MAX_PACKED_BYTES)} budget`);
console.log('tarball contents: ok');

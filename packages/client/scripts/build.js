// Builds the package into dist/: index.mjs and index.cjs (esbuild, minified, no dependencies), index.d.ts and
// index.d.cts (tsc declarations, joined into one self-contained file), then measures the ESM build
// (minified + gzipped) and fails above the size budget. Run from anywhere: `node packages/client/scripts/build.js
// [--outdir DIR]` (default: packages/client/dist).
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** The ESM build's budget, minified + gzipped. */
const BUDGET_BYTES = 8 * 1024;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdirFlag = process.argv.indexOf('--outdir');
const dist = outdirFlag > 0 ? resolve(process.argv[outdirFlag + 1]) : join(root, 'dist');
const typesDir = join(dist, 'types');
const require = createRequire(import.meta.url);

rmSync(dist, { recursive: true, force: true });

for (const [format, file] of [['esm', 'index.mjs'], ['cjs', 'index.cjs']]) {
  await build({
    entryPoints: [join(root, 'src/index.ts')],
    outfile: join(dist, file),
    bundle: true,
    minify: true,
    format,
    platform: 'neutral',
    target: 'es2020',
    legalComments: 'none',
    logLevel: 'warning',
  });
}

execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--outDir', typesDir], { stdio: 'inherit' });
const declarations = joinDeclarations(typesDir);
rmSync(typesDir, { recursive: true, force: true });
// One file for both conditions: with no relative imports it reads the same as ESM (.d.ts) and CommonJS (.d.cts).
writeFileSync(join(dist, 'index.d.ts'), declarations);
writeFileSync(join(dist, 'index.d.cts'), declarations);
checkDeclarations(join(dist, 'index.d.ts'));

const esm = readFileSync(join(dist, 'index.mjs'));
const gzipped = gzipSync(esm, { level: 9 }).length;
const cjs = readFileSync(join(dist, 'index.cjs'));
console.log(`${relative(process.cwd(), join(dist, 'index.mjs'))}: ${esm.length} bytes minified, ${gzipped} bytes gzipped (budget ${BUDGET_BYTES})`);
console.log(`${relative(process.cwd(), join(dist, 'index.cjs'))}: ${cjs.length} bytes minified, ${gzipSync(cjs, { level: 9 }).length} bytes gzipped`);
if (gzipped > BUDGET_BYTES) {
  console.error(`cdk-websocket-chat-client: the ESM build is ${gzipped} bytes gzipped, over the ${BUDGET_BYTES}-byte budget.`);
  process.exit(1);
}

/**
 * Joins the declarations reachable from index.d.ts into one file: each module's text without its relative
 * imports and re-exports. Fails unless the result exports exactly what index.d.ts exports (so the public
 * modules must hold public declarations only, with names unique across them).
 */
function joinDeclarations(dir) {
  const parts = [];
  const visited = new Set();
  const visit = (name) => {
    if (visited.has(name)) return;
    visited.add(name);
    const text = readFileSync(join(dir, `${name}.d.ts`), 'utf8');
    for (const [, dependency] of text.matchAll(/from '\.\/([\w-]+)';/g)) visit(dependency);
    if (name !== 'index') parts.push(text.replace(/^(import|export) [^;]* from '\.\/[\w-]+';\n/gm, '').replace(/^export \{\};\n/gm, ''));
  };
  visit('index');
  const joined = `// cdk-websocket-chat-client: type declarations.\n${parts.join('\n')}`;
  if (/from '\./.test(joined)) throw new Error('a relative import is left in the joined declarations');

  const index = readFileSync(join(dir, 'index.d.ts'), 'utf8');
  const wanted = [...index.matchAll(/\{([^}]*)\}/g)].flatMap(([, list]) => list.split(',').map((name) => name.replace(/^\s*type\s+/, '').trim()).filter(Boolean));
  const exported = [...joined.matchAll(/^export (?:declare )?(?:abstract )?(?:class|interface|type|const|function|enum) (\w+)/gm)].map(([, name]) => name);
  const key = (names) => [...new Set(names)].sort().join(',');
  if (key(wanted) !== key(exported)) {
    throw new Error(`the joined declarations export [${key(exported)}], index.d.ts exports [${key(wanted)}]`);
  }
  return joined;
}

/** Type-checks the joined declarations alone: no DOM, no Node types. */
function checkDeclarations(file) {
  const ts = require('typescript');
  const program = ts.createProgram([file], { noEmit: true, strict: true, target: ts.ScriptTarget.ES2022, lib: ['lib.es2022.d.ts'], types: [] });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  if (diagnostics.length > 0) {
    throw new Error(ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }));
  }
}

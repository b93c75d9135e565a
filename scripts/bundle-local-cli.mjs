#!/usr/bin/env node
/**
 * Bundles the local gateway's CLI (src/local/cli.ts) into assets/local/cli/index.js, and the thread of its embedded
 * DynamoDB (src/local/dynamo-server.ts) into assets/local/cli/dynamo-server.js — self-contained: dynalite and ws are
 * inside the bundles, so the npm package needs no runtime dependencies.
 *
 * - ws's optional native speed-ups (bufferutil, utf-8-validate) stay external: ws uses them only when present.
 * - dynalite's `level` (native LevelDB, used only for --persist) is aliased to src/local/level-shim.ts, which loads the
 *   optional package classic-level when --persist asks for it: the package carries no native binaries.
 * - dynalite loads its operations with `require('./actions/' + name)`. esbuild bundles every file such a pattern can
 *   match, but looks the name up without an implicit `.js`, so the calls are rewritten to name the extension.
 *
 * - The chat page's script (src/local/page/app.js, imported as text by page/assets.ts) is embedded bundled with the client
 *   library: scripts/page-script.cjs.
 *
 * (A script rather than esbuild's command line because of that rewrite, which needs a plugin.)
 */
import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';
import pageScript from './page-script.cjs';

const OUTDIR = 'assets/local/cli';

/** dynalite's computed requires, with the `.js` esbuild's glob map is keyed by. */
const dynaliteStaticRequires = {
  name: 'dynalite-computed-requires',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]dynalite[\\/]index\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      let rewrites = 0;
      const contents = source.replace(/require\('\.\/(actions|validations)\/' \+ action\)/g, (_match, dir) => {
        rewrites++;
        return `require('./${dir}/' + action + '.js')`;
      });
      if (rewrites !== 2) {
        throw new Error(`dynalite/index.js changed: expected its two computed requires of ./actions and ./validations, found ${rewrites}`);
      }
      return { contents, loader: 'js' };
    });
  },
};

await build({
  entryPoints: { 'index': 'src/local/cli.ts', 'dynamo-server': 'src/local/dynamo-server.ts' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  outdir: OUTDIR,
  external: ['bufferutil', 'utf-8-validate', 'classic-level'],
  alias: { level: './src/local/level-shim.ts' },
  banner: { js: '#!/usr/bin/env node' },
  plugins: [dynaliteStaticRequires, pageScript.pageScriptPlugin],
  sourcemap: false,
  logLevel: 'warning',
});

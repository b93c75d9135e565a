/**
 * The chat page's script: src/local/page/app.js and what it imports (the page's own modules and the client library
 * from packages/client/src), bundled by esbuild into one classic script, as the gateway serves it at /app.js (the
 * page's CSP allows scripts from its own origin only, so everything is in that one file).
 *
 * One definition, two users: scripts/bundle-local-cli.mjs embeds it into the CLI bundle (`pageScriptPlugin`), and the
 * tests serve the same bytes (`bundlePageScript`, through test/support/page-assets.ts).
 */
'use strict';
const path = require('node:path');
const esbuild = require('esbuild');

const ROOT = path.join(__dirname, '..');
/** The page script's entry point. */
const PAGE_ENTRY = path.join(ROOT, 'src', 'local', 'page', 'app.js');

/** Bundles the page script; returns its text. */
function bundlePageScript() {
  const result = esbuild.buildSync({
    entryPoints: [PAGE_ENTRY],
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
    banner: { js: '// The chat page of cdk-websocket-chat-local: src/local/page/*.js with cdk-websocket-chat-client, bundled.' },
  });
  if (result.errors.length > 0) throw new Error(`the chat page script did not bundle: ${result.errors.map((e) => e.text).join('; ')}`);
  return result.outputFiles[0].text;
}

/** An esbuild plugin: `import js from './page/app.js' with { type: 'text' }` gets the bundled page script. */
const pageScriptPlugin = {
  name: 'chat-page-script',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]local[\\/]page[\\/]app\.js$/ }, (args) => {
      if (args.with?.type !== 'text') return undefined;
      return { contents: bundlePageScript(), loader: 'text' };
    });
  },
};

module.exports = { PAGE_ENTRY, bundlePageScript, pageScriptPlugin };

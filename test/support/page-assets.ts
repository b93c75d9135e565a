import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { bundlePageScript } from '../../scripts/page-script.cjs';
import type { PageAssets } from '../../src/local/web';

/** The chat page's source directory. */
export const PAGE_DIR = path.join(__dirname, '..', '..', 'src', 'local', 'page');

/**
 * The page's files as the gateway serves them: index.html and style.css from `src/local/page/`, and app.js bundled
 * with the client library by scripts/page-script.cjs — what `src/local/page/assets.ts` embeds into the CLI bundle
 * (jest cannot load its text imports; test/local/cli.test.ts checks the bundle serves these same bytes).
 */
export function readPageAssets(): PageAssets {
  const read = (name: string) => readFileSync(path.join(PAGE_DIR, name), 'utf8');
  return { html: read('index.html'), css: read('style.css'), js: bundlePageScript() };
}

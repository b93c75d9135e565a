import type { PageAssets } from '../web';
import js from './app.js' with { type: 'text' };
import html from './index.html' with { type: 'text' };
import css from './style.css' with { type: 'text' };

/**
 * The chat page, embedded into the CLI bundle as text by esbuild (`with { type: 'text' }`), so the bin finds
 * it wherever the package is installed: no files to locate at run time. `app.js` arrives bundled with its imports
 * (view.js and the client library): scripts/page-script.cjs, a plugin of scripts/bundle-local-cli.mjs.
 *
 * Only `cli.ts` imports this module (it is run bundled). Jest cannot load these imports: tests read the same
 * files from this directory (test/support/page-assets.ts).
 */
export const PAGE_ASSETS: PageAssets = { html, css, js };

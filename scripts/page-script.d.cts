/** Types of page-script.cjs (the chat page's script, bundled). */
import type { Plugin } from 'esbuild';

/** The page script's entry point (src/local/page/app.js). */
export declare const PAGE_ENTRY: string;
/** Bundles the page script; returns its text, as the gateway serves it at /app.js. */
export declare function bundlePageScript(): string;
/** An esbuild plugin: the page's `app.js`, imported `with { type: 'text' }`, is the bundled page script. */
export declare const pageScriptPlugin: Plugin;

import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/** The Debian package's Chromium (`apt-get install chromium`); playwright-core never downloads a browser here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether the browser tests can run. */
export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

/**
 * Flags for a root, offline, headless run: no sandbox (root), no GPU, and no background traffic (without
 * these, Chromium keeps trying to reach Google services and floods the log with refused connections).
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  // Required lazily: a machine without Chromium skips the tests without loading Playwright.
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
}

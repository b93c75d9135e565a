import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';

/** Synthesizes CDK apps into temporary directories, as `cdk synth` does (a cloud assembly with its assets). */

export const FIXTURES = path.join(__dirname, 'fixtures');
const REPO_NODE_MODULES = path.join(__dirname, '..', '..', '..', 'node_modules');

export interface SynthesizedApp {
  /** The app's directory (holds `cdk.out`, and `node_modules` when asked). */
  readonly appDir: string;
  /** Its cloud assembly. */
  readonly outdir: string;
}

const made: string[] = [];

/**
 * Builds an app with `build` and synthesizes it to `{appDir}/cdk.out`. `nodeModules`: the app has a
 * `node_modules` (a link to this repository's, which has the AWS SDK) — as an app with `@aws-sdk/*` installed.
 */
export function synth(build: (app: App) => void, options: { readonly nodeModules?: boolean } = {}): SynthesizedApp {
  const appDir = mkdtempSync(path.join(tmpdir(), 'chat-app-'));
  made.push(appDir);
  if (options.nodeModules) symlinkSync(REPO_NODE_MODULES, path.join(appDir, 'node_modules'), 'dir');
  const outdir = path.join(appDir, 'cdk.out');
  const app = new App({ outdir });
  build(app);
  app.synth();
  return { appDir, outdir };
}

/** Removes every synthesized app (call in `afterAll`). */
export function removeSynthesizedApps(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

/** Where `npx projen bundle` writes the handler bundles. */
export const HANDLERS_DIR = path.resolve(__dirname, '../../assets/handlers');

/** What one invocation of a shipped bundle did. */
export interface BundleInvocation {
  readonly ok: boolean;
  readonly result?: any;
  readonly error?: { readonly name: string; readonly message: string };
  /** Lines the handler wrote to stdout (its logs). */
  readonly lines: string[];
}

// Plain CommonJS run by Node itself (not by jest's module system): the bundles load exactly as Lambda loads them.
const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const path = require('node:path');
const modules = new Map();
parentPort.on('message', async ({ id, name, event, loadOnly }) => {
  if (loadOnly) {
    try {
      const mod = require(path.join(workerData.dir, name + '.lambda', 'index.js'));
      modules.set(name, mod);
      parentPort.postMessage({ id, ok: true, result: typeof mod.handler, lines: [] });
    } catch (err) {
      parentPort.postMessage({ id, ok: false, error: { name: err && err.name, message: err && err.message }, lines: [] });
    }
    return;
  }
  const lines = [];
  const write = process.stdout.write;
  process.stdout.write = (chunk) => { lines.push(String(chunk)); return true; };
  try {
    let mod = modules.get(name);
    if (!mod) {
      mod = require(path.join(workerData.dir, name + '.lambda', 'index.js'));
      modules.set(name, mod);
    }
    if (typeof mod.handler !== 'function') throw new Error(name + ' exports no handler function');
    const result = await mod.handler(event, { awsRequestId: 'req-' + id, getRemainingTimeInMillis: () => 10000 });
    parentPort.postMessage({ id, ok: true, result, lines: lines.join('').split('\n').filter(Boolean) });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, error: { name: err && err.name, message: err && err.message }, lines: lines.join('').split('\n').filter(Boolean) });
  } finally {
    process.stdout.write = write;
  }
});
`;

/**
 * Runs the shipped handler bundles in a worker thread with its own environment, like the Lambda runtime (and
 * the local gateway) would: module scope survives between invocations of the same bundle.
 */
export class BundleRunner {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, (value: BundleInvocation) => void>();

  constructor(env: Record<string, string>, dir = HANDLERS_DIR) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, env, workerData: { dir }, stdout: false });
    this.worker.on('message', (msg: BundleInvocation & { id: number }) => {
      this.pending.get(msg.id)?.(msg);
      this.pending.delete(msg.id);
    });
  }

  public invoke(name: string, event: unknown): Promise<BundleInvocation> {
    return this.send({ name, event });
  }

  /** Loads a bundle (module scope runs) and answers `typeof handler`. */
  public async load(name: string): Promise<string> {
    const out = await this.send({ name, loadOnly: true });
    if (!out.ok) throw new Error(`${name}: ${out.error?.message}`);
    return out.result as string;
  }

  private send(message: Record<string, unknown>): Promise<BundleInvocation> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.worker.postMessage({ id, ...message });
    });
  }

  public async close(): Promise<void> {
    await this.worker.terminate();
  }
}

import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LocalTable } from './app-model';
import { urlHost } from './listen';
import { dynamoJsonCall, ensureTable } from './table';

/**
 * The embedded DynamoDB: dynalite on loopback, in memory or persisted to a directory (`--persist`, which needs the
 * optional package classic-level), holding the app's tables. It runs in a thread of its own (`dynamo-server.ts`,
 * bundled to `assets/local/cli/dynamo-server.js`): every message of a chat costs several DynamoDB calls, and on the
 * main thread they would queue behind the WebSocket and `@connections` traffic (measured: a burst delivered about 3×
 * faster this way). Requests from web pages (`Origin`) are refused.
 */

export interface EmbeddedDynamo {
  /** `http://host:port` — the value of `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * The DynamoDB thread's code: next to the CLI bundle (`assets/local/cli/`), or, from the TypeScript sources, the
 * built one in the repository's `assets/local/cli/` (`npx projen bundle`).
 */
export function dynamoServerFile(): string {
  const candidates = [path.join(__dirname, 'dynamo-server.js'), path.resolve(__dirname, '../../assets/local/cli/dynamo-server.js')];
  return candidates.find((file) => existsSync(file)) ?? candidates[candidates.length - 1];
}

export async function startEmbeddedDynamo(options: {
  /** A loopback address. */
  readonly host: string;
  readonly tables: readonly LocalTable[];
  /** A directory that keeps the data across restarts; in memory when absent. */
  readonly persistDir?: string;
  /** Reports the DynamoDB thread failing after it started. */
  readonly onError?: (message: string) => void;
}): Promise<EmbeddedDynamo> {
  const file = dynamoServerFile();
  if (!existsSync(file)) throw new Error(`${file} is missing: in the repository, run \`npx projen bundle\` first`);
  if (options.persistDir) mkdirSync(options.persistDir, { recursive: true });
  const worker = new Worker(file, { workerData: { role: 'dynamo', host: options.host, persistDir: options.persistDir } });
  let stopping = false;
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (msg: { type: string; port?: number; message?: string }) => {
      if (msg.type === 'ready') resolve(msg.port!);
      else reject(new Error(msg.message ?? 'the DynamoDB thread failed to start'));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the DynamoDB thread exited (code ${code}) before it was ready`)));
  }).catch(async (err: Error) => {
    await worker.terminate();
    throw err;
  });
  worker.on('error', (err) => options.onError?.(`the embedded DynamoDB failed: ${err.message}`));
  worker.on('exit', (code) => {
    if (!stopping) options.onError?.(`the embedded DynamoDB stopped (code ${code})`);
  });
  const endpoint = `http://${urlHost(options.host)}:${port}`;

  // dynalite's close also closes its store (releasing a persisted directory); the thread ends after it.
  const close = async () => {
    if (stopping) return;
    stopping = true;
    const closed = new Promise<void>((resolve) => {
      worker.once('message', (msg: { type: string }) => msg.type === 'closed' && resolve());
      worker.once('exit', () => resolve());
      setTimeout(resolve, 10_000).unref();
    });
    worker.postMessage({ type: 'close' });
    await closed;
    await worker.terminate();
  };

  try {
    const call = dynamoJsonCall(endpoint);
    for (const table of options.tables) await ensureTable(call, table.name, table.spec);
  } catch (err) {
    await close();
    throw err;
  }
  return { endpoint, close };
}

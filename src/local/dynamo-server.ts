import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { refuseBrowserRequest } from './internal-http';

/**
 * The embedded DynamoDB's own thread: dynalite (a DynamoDB wire-protocol server, pure JavaScript) serving on
 * loopback from a worker thread, so its work never queues behind the gateway's WebSocket and `@connections`
 * traffic on the main thread (it is the busiest part of a chat broadcast: several DynamoDB calls per message).
 * Bundled to `assets/local/cli/dynamo-server.js`; `dynamo.ts` starts it.
 *
 * workerData: `{ host, persistDir? }`. Messages to the parent: `{ type: 'ready', port }` or `{ type: 'error',
 * message }`; on `{ type: 'close' }` it closes dynalite (and its store) and answers `{ type: 'closed' }`.
 */

type Dynalite = (options: Record<string, unknown>) => Server;
type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export interface DynamoServerOptions {
  /** A loopback address. */
  readonly host: string;
  /** A directory that keeps the data across restarts; in memory when absent. */
  readonly persistDir?: string;
}

/** Creates dynalite behind the browser guard and listens on a free port of `host`. */
export async function startDynalite(options: DynamoServerOptions): Promise<Server> {
  // dynalite ships no type declarations.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as Dynalite;
  const dynaliteOptions: Record<string, unknown> = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  if (options.persistDir) dynaliteOptions.path = options.persistDir;
  const server = dynalite(dynaliteOptions);
  guardRequests(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/**
 * dynalite answers browsers generously (`Access-Control-Allow-Origin: *`, preflights included): the browser guard
 * goes in front of its request listener, on its own server (whose `close()` also closes dynalite's store).
 */
function guardRequests(server: Server): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (refuseBrowserRequest(req, res, 'AccessDeniedException')) return;
    for (const listener of listeners) listener.call(server, req, res);
  });
}

/** Closes dynalite's server and, with it, its store (a persisted directory is released). */
export function stopDynalite(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

if (parentPort && (workerData as { role?: string } | undefined)?.role === 'dynamo') {
  const port = parentPort;
  const options = workerData as DynamoServerOptions;
  startDynalite(options).then(
    (server) => {
      port.on('message', (msg: { type: string }) => {
        if (msg.type !== 'close') return;
        void stopDynalite(server).then(() => port.postMessage({ type: 'closed' }));
      });
      port.postMessage({ type: 'ready', port: (server.address() as { port: number }).port });
    },
    (err: Error) => port.postMessage({ type: 'error', message: err.message }),
  );
}

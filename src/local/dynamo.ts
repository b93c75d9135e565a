import { mkdirSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { LocalTable } from './app-model';
import { refuseBrowserRequest } from './internal-http';
import { listenOnFreePort } from './listen';
import { dynamoJsonCall, ensureTable } from './table';

/**
 * The embedded DynamoDB: dynalite (a DynamoDB wire-protocol server, bundled into the CLI) on loopback, in memory
 * or persisted to a directory (`--persist`, which needs the optional package classic-level), holding the app's
 * tables.
 *
 * dynalite answers browsers generously (`Access-Control-Allow-Origin: *`, preflights included): its request
 * listener is wrapped so that any request from a web page (`Origin`) is refused before dynalite sees it.
 */

export interface EmbeddedDynamo {
  /** `http://host:port` — the value of `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

type Dynalite = (options: Record<string, unknown>) => Server;
type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export async function startEmbeddedDynamo(options: {
  /** A loopback address. */
  readonly host: string;
  readonly tables: readonly LocalTable[];
  /** A directory that keeps the data across restarts; in memory when absent. */
  readonly persistDir?: string;
}): Promise<EmbeddedDynamo> {
  // dynalite ships no type declarations.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as Dynalite;
  const dynaliteOptions: Record<string, unknown> = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  if (options.persistDir) {
    mkdirSync(options.persistDir, { recursive: true });
    dynaliteOptions.path = options.persistDir;
  }
  const server = dynalite(dynaliteOptions);
  guardRequests(server);
  const endpoint = await listenOnFreePort(server, options.host);

  // dynalite's close() also closes its LevelDB store (releasing a persisted directory).
  const close = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
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

/** Puts the browser guard in front of dynalite's own request listener (on its server, which owns the store). */
function guardRequests(server: Server): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (refuseBrowserRequest(req, res, 'AccessDeniedException')) return;
    for (const listener of listeners) listener.call(server, req, res);
  });
}

import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { listenOnFreePort } from './listen';
import { ensureConnectionsTable } from './table';

/**
 * The embedded DynamoDB: dynalite (a DynamoDB wire-protocol server) on loopback, in memory or persisted
 * to a directory, holding the construct's connections table.
 */

export interface EmbeddedDynamo {
  /** `http://host:port` — the value of `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpoint: string;
  close(): Promise<void>;
}

type Dynalite = (options: Record<string, unknown>) => Server;

export async function startEmbeddedDynamo(options: {
  readonly host: string;
  readonly tableName: string;
  readonly region: string;
  /** A directory that keeps the data across restarts; in memory when absent. */
  readonly persistDir?: string;
}): Promise<EmbeddedDynamo> {
  // dynalite ships no type declarations; it stays external to the CLI bundle (a bundled dependency).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as Dynalite;
  const dynaliteOptions: Record<string, unknown> = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  if (options.persistDir) {
    mkdirSync(options.persistDir, { recursive: true });
    dynaliteOptions.path = options.persistDir;
  }
  const server = dynalite(dynaliteOptions);
  const endpoint = await listenOnFreePort(server, options.host);

  // dynalite's close() also closes its LevelDB store (releasing a persisted directory).
  const close = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };

  const client = new DynamoDBClient({
    endpoint,
    region: options.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await ensureConnectionsTable(client, options.tableName);
  } catch (err) {
    await close();
    throw err;
  } finally {
    client.destroy();
  }
  return { endpoint, close };
}

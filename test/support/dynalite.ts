import type { AddressInfo } from 'net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
// dynalite has no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (opts: Record<string, unknown>) => import('http').Server;
import { dynamoJsonCall, ensureTable } from '../../src/local/table';
import { CONNECTIONS_TABLE, type TableSpec } from '../../src/shared/spec';

/** A real DynamoDB wire-protocol server (dynalite, in memory) on loopback, for tests. */
export interface LocalDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** Creates a table (the connections table by default: the construct's schema) under a fresh name and returns it. */
  newTable(prefix?: string, spec?: TableSpec): Promise<string>;
  close(): Promise<void>;
}

let tableCounter = 0;

/** Credentials for clients talking to local servers. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** Credentials and region for SDK clients talking to local servers. */
export const LOCAL_AWS_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
} as const;

export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_AWS_ENV.AWS_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  return {
    endpoint,
    client,
    async newTable(prefix = 'connections', spec = CONNECTIONS_TABLE) {
      const name = `${prefix}-${process.pid}-${++tableCounter}`;
      await ensureTable(dynamoJsonCall(endpoint), name, spec);
      return name;
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

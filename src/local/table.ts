import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  waitUntilTableExists,
  type AttributeDefinition,
} from '@aws-sdk/client-dynamodb';
import { CONNECTIONS_TABLE, type TableSpec } from '../shared/spec';

/**
 * Creates a table from its `TableSpec` (the same spec the construct builds its tables from): key schema, every
 * global secondary index (projection ALL), PAY_PER_REQUEST. TTL is not enabled: dynalite has no TTL API
 * (`UpdateTimeToLive`), and every read filters `ttl > now` anyway. Idempotent: an existing table (e.g. in a
 * `--persist` directory) is left as it is.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string, spec: TableSpec): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (err) {
    if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw err;
  }
  try {
    await client.send(new CreateTableCommand(createTableInput(tableName, spec)));
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { TableName: tableName });
}

/** The connections table (DESIGN §3) under `tableName`: `ensureTable` with the shared spec's `CONNECTIONS_TABLE`. */
export function ensureConnectionsTable(client: DynamoDBClient, tableName: string): Promise<void> {
  return ensureTable(client, tableName, CONNECTIONS_TABLE);
}

/** The `CreateTable` request of a spec. */
export function createTableInput(tableName: string, spec: TableSpec) {
  const attributes = new Map<string, AttributeDefinition>();
  const define = (key: { name: string; type: 'S' | 'N' }) => {
    const known = attributes.get(key.name);
    if (known && known.AttributeType !== key.type) {
      throw new Error(`table ${spec.id}: attribute ${key.name} is declared both ${known.AttributeType} and ${key.type}`);
    }
    attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  };
  define(spec.partitionKey);
  define(spec.sortKey);
  for (const index of spec.indexes) {
    define(index.partitionKey);
    define(index.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [...attributes.values()],
    KeySchema: [
      { AttributeName: spec.partitionKey.name, KeyType: 'HASH' as const },
      { AttributeName: spec.sortKey.name, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes:
      spec.indexes.length === 0
        ? undefined
        : spec.indexes.map((index) => ({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
            { AttributeName: index.sortKey.name, KeyType: 'RANGE' as const },
          ],
          Projection: { ProjectionType: 'ALL' as const },
        })),
  };
}

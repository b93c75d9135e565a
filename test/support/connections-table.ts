import {
  BatchWriteItemCommand,
  GetItemCommand,
  ScanCommand,
  type AttributeValue,
  type BatchWriteItemCommandOutput,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { TABLE } from '../../src/shared/contract';

/** A connection row to seed; `ttl` defaults to an hour from now. */
export interface SeedRow {
  readonly id: string;
  readonly room: string;
  readonly user?: string;
  /** Epoch seconds. */
  readonly ttl?: number;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Writes rows with BatchWriteItem (25 at a time, unprocessed items retried). */
export async function seedConnections(client: DynamoDBClient, tableName: string, rows: readonly SeedRow[]): Promise<void> {
  const requests: WriteRequest[] = rows.map((row) => ({
    PutRequest: {
      Item: {
        [TABLE.partitionKey]: { S: row.id },
        [TABLE.roomId]: { S: row.room },
        [TABLE.userId]: { S: row.user ?? `user-${row.id}` },
        [TABLE.ttl]: { N: String(row.ttl ?? nowSeconds() + 3600) },
        [TABLE.createdAt]: { S: new Date().toISOString() },
      },
    },
  }));
  for (let i = 0; i < requests.length; i += 25) {
    let batch: WriteRequest[] | undefined = requests.slice(i, i + 25);
    while (batch && batch.length > 0) {
      const out: BatchWriteItemCommandOutput = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: batch } }));
      batch = out.UnprocessedItems?.[tableName];
    }
  }
}

/** Every connection id in the table, sorted. */
export async function allConnectionIds(client: DynamoDBClient, tableName: string): Promise<string[]> {
  const ids: string[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
    for (const item of out.Items ?? []) ids.push(item[TABLE.partitionKey].S!);
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return ids.sort();
}

/** One row as stored, or undefined. */
export async function getConnection(client: DynamoDBClient, tableName: string, id: string): Promise<Record<string, AttributeValue> | undefined> {
  const out = await client.send(new GetItemCommand({ TableName: tableName, Key: { [TABLE.partitionKey]: { S: id } }, ConsistentRead: true }));
  return out.Item;
}

/** `prefix-0000` … ids. */
export function idRange(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
}

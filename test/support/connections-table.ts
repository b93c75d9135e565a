import {
  BatchWriteItemCommand,
  GetItemCommand,
  ScanCommand,
  type AttributeValue,
  type BatchWriteItemCommandOutput,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { connectionItem, membershipItem } from '../../src/handlers/lib/connections-store';
import { TABLE } from '../../src/shared/contract';

/**
 * A connection to seed: its connection item and, with `room` (or `rooms`), its membership items; `ttl` defaults to an
 * hour from now.
 */
export interface SeedRow {
  readonly id: string;
  readonly room?: string;
  /** More rooms it is in. */
  readonly rooms?: readonly string[];
  readonly user?: string;
  /** Epoch seconds. */
  readonly ttl?: number;
  /** Only the membership items (a connection item written elsewhere, or none at all). */
  readonly membershipOnly?: boolean;
  /** ISO connect time; default: ten minutes ago (an established connection, past its handshake). */
  readonly createdAt?: string;
}

function tenMinutesAgo(): string {
  return new Date(Date.now() - 10 * 60_000).toISOString();
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Writes the items with BatchWriteItem (25 at a time, unprocessed items retried). */
export async function seedConnections(client: DynamoDBClient, tableName: string, rows: readonly SeedRow[]): Promise<void> {
  const requests: WriteRequest[] = rows.flatMap((row) => {
    const user = row.user ?? `user-${row.id}`;
    const ttl = row.ttl ?? nowSeconds() + 3600;
    const rooms = [...(row.room !== undefined ? [row.room] : []), ...(row.rooms ?? [])];
    return [
      ...(row.membershipOnly ? [] : [connectionItem({ connectionId: row.id, userId: user, ttl, createdAt: row.createdAt ?? tenMinutesAgo() })]),
      ...rooms.map((room) => membershipItem(row.id, room, user, ttl)),
    ].map((Item) => ({ PutRequest: { Item } }));
  });
  for (let i = 0; i < requests.length; i += 25) {
    let batch: WriteRequest[] | undefined = requests.slice(i, i + 25);
    while (batch && batch.length > 0) {
      const out: BatchWriteItemCommandOutput = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: batch } }));
      batch = out.UnprocessedItems?.[tableName];
    }
  }
}

/** Every item of the table. */
export async function allItems(client: DynamoDBClient, tableName: string): Promise<Array<Record<string, AttributeValue>>> {
  const items: Array<Record<string, AttributeValue>> = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const out = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
    items.push(...(out.Items ?? []));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** Every connection id with at least one item in the table, sorted, each once. */
export async function allConnectionIds(client: DynamoDBClient, tableName: string): Promise<string[]> {
  const ids = new Set((await allItems(client, tableName)).map((item) => item[TABLE.partitionKey].S!));
  return [...ids].sort();
}

/** The connection item of `id` as stored, or undefined. */
export async function getConnection(client: DynamoDBClient, tableName: string, id: string): Promise<Record<string, AttributeValue> | undefined> {
  const out = await client.send(new GetItemCommand({
    TableName: tableName,
    Key: { [TABLE.partitionKey]: { S: id }, [TABLE.sortKey]: { S: TABLE.connectionSk } },
    ConsistentRead: true,
  }));
  return out.Item;
}

/** The rooms `id` is in (its membership items), sorted. */
export async function roomsOf(client: DynamoDBClient, tableName: string, id: string): Promise<string[]> {
  return (await allItems(client, tableName))
    .filter((item) => item[TABLE.partitionKey].S === id && item[TABLE.sortKey]?.S?.startsWith(TABLE.roomSkPrefix))
    .map((item) => item[TABLE.roomId].S!)
    .sort();
}

/** `prefix-0000` … ids. */
export function idRange(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);
}

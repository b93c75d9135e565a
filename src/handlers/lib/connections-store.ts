import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { ConnectionIdentity } from './events';
import { TABLE } from '../../shared/contract';

/** One row of the connections table (DESIGN §3). */
export interface ConnectionRow {
  readonly connectionId: string;
  readonly roomId: string;
  readonly userId: string;
  /** Epoch seconds after which the row is dead (API Gateway's 2 h + margin). */
  readonly ttl: number;
  /** ISO-8601 connect time. */
  readonly createdAt: string;
}

/** The row written on `$connect`. */
export function connectionRow(connectionId: string, identity: ConnectionIdentity, nowMs: number, ttlSeconds: number): ConnectionRow {
  return {
    connectionId,
    roomId: identity.roomId,
    userId: identity.userId,
    ttl: Math.floor(nowMs / 1000) + ttlSeconds,
    createdAt: new Date(nowMs).toISOString(),
  };
}

export async function putConnection(client: DynamoDBClient, tableName: string, row: ConnectionRow): Promise<void> {
  await client.send(
    new PutItemCommand({
      TableName: tableName,
      Item: {
        [TABLE.partitionKey]: { S: row.connectionId },
        [TABLE.roomId]: { S: row.roomId },
        [TABLE.userId]: { S: row.userId },
        [TABLE.ttl]: { N: String(row.ttl) },
        [TABLE.createdAt]: { S: row.createdAt },
      },
    }),
  );
}

/** Deletes a connection's row; deleting a missing row is not an error. */
export async function deleteConnection(client: DynamoDBClient, tableName: string, connectionId: string): Promise<void> {
  await client.send(new DeleteItemCommand({ TableName: tableName, Key: { [TABLE.partitionKey]: { S: connectionId } } }));
}

/**
 * Deletes the row of a connection that answered 410 Gone, conditional on the row existing.
 * @returns whether a row was deleted (false: already gone, e.g. `$disconnect` got there first)
 */
export async function deleteGoneConnection(client: DynamoDBClient, tableName: string, connectionId: string): Promise<boolean> {
  try {
    await client.send(
      new DeleteItemCommand({
        TableName: tableName,
        Key: { [TABLE.partitionKey]: { S: connectionId } },
        ConditionExpression: 'attribute_exists(#c)',
        ExpressionAttributeNames: { '#c': TABLE.partitionKey },
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException || (err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
    throw err;
  }
}

export interface RoomQuery {
  readonly tableName: string;
  readonly roomId: string;
  /** Epoch seconds: rows with `ttl <= nowSeconds` are dead and skipped. */
  readonly nowSeconds: number;
  /** `Limit` of each Query (items evaluated per page); default: DynamoDB's 1 MB pages. */
  readonly pageSize?: number;
}

/** One page of a room's live connections. */
export interface RoomPage {
  readonly connectionIds: string[];
  /** Items DynamoDB read for this page, expired ones included (`ScannedCount`). */
  readonly itemsRead: number;
  readonly lastEvaluatedKey?: Record<string, AttributeValue>;
}

/**
 * One Query page of `room_id-index`: key condition `room_id = :r`, filter `ttl > :now`, projecting only
 * `connection_id`.
 */
export async function queryRoomPage(
  client: DynamoDBClient,
  query: RoomQuery,
  exclusiveStartKey?: Record<string, AttributeValue>,
): Promise<RoomPage> {
  const out = await client.send(
    new QueryCommand({
      TableName: query.tableName,
      IndexName: TABLE.roomIndex,
      KeyConditionExpression: '#r = :r',
      FilterExpression: '#t > :now',
      ProjectionExpression: '#c',
      // `ttl` is a DynamoDB reserved word: always go through names.
      ExpressionAttributeNames: { '#r': TABLE.roomId, '#t': TABLE.ttl, '#c': TABLE.partitionKey },
      ExpressionAttributeValues: { ':r': { S: query.roomId }, ':now': { N: String(query.nowSeconds) } },
      ExclusiveStartKey: exclusiveStartKey,
      Limit: query.pageSize,
    }),
  );
  const connectionIds: string[] = [];
  for (const item of out.Items ?? []) {
    const id = item[TABLE.partitionKey]?.S;
    if (id) connectionIds.push(id);
  }
  return { connectionIds, itemsRead: out.ScannedCount ?? out.Count ?? connectionIds.length, lastEvaluatedKey: out.LastEvaluatedKey };
}

/**
 * The room's live connections, page by page, following `LastEvaluatedKey` to the end. The next page is
 * fetched while the caller works on the current one, so at most two pages are held at a time.
 */
export async function* roomPages(client: DynamoDBClient, query: RoomQuery): AsyncGenerator<RoomPage, void, undefined> {
  let next: Promise<RoomPage> | undefined = queryRoomPage(client, query);
  while (next) {
    const page: RoomPage = await next;
    next = page.lastEvaluatedKey ? queryRoomPage(client, query, page.lastEvaluatedKey) : undefined;
    // If the consumer stops early, a failed prefetch must not become an unhandled rejection.
    next?.catch(() => undefined);
    yield page;
  }
}

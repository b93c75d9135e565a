import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { RoomsClaim } from './events';
import { sleep } from './retry';
import { shardOf, TABLE } from '../../shared/contract';

/**
 * The connections table: one `connection` item per live connection (`user_id`, `ttl`, `created_at`, the rooms
 * claim) and one `room#<id>` item per room it is in (`room_id`, `user_id`, `shard`, `ttl`). `room_id-index`
 * (hash `room_id`, range `shard`) holds only the membership items; `user_id-index` (hash `user_id`, range `sk`)
 * finds a user's connections. Every read filters `ttl > now`: DynamoDB deletes expired items lazily.
 */

type Item = Record<string, AttributeValue>;

/** The key of one item. */
function key(connectionId: string, sk: string): Item {
  return { [TABLE.partitionKey]: { S: connectionId }, [TABLE.sortKey]: { S: sk } };
}

/** The sort key of the membership item of `roomId`. */
export function membershipSk(roomId: string): string {
  return `${TABLE.roomSkPrefix}${roomId}`;
}

/** The connection item written on `$connect`. */
export interface ConnectionRecord {
  readonly connectionId: string;
  readonly userId: string;
  /** Epoch seconds after which the connection is dead (API Gateway's 2 h + margin). */
  readonly ttl: number;
  /** ISO-8601 connect time. */
  readonly createdAt: string;
  /** The token's rooms claim, when rooms are restricted. */
  readonly rooms?: RoomsClaim;
}

export function connectionItem(record: ConnectionRecord): Item {
  return {
    ...key(record.connectionId, TABLE.connectionSk),
    [TABLE.userId]: { S: record.userId },
    [TABLE.ttl]: { N: String(record.ttl) },
    [TABLE.createdAt]: { S: record.createdAt },
    ...(record.rooms !== undefined ? { [TABLE.rooms]: { S: JSON.stringify(record.rooms) } } : {}),
  };
}

/** A membership item: the connection is in `roomId` (its `shard` places it in the room index's key range). */
export function membershipItem(connectionId: string, roomId: string, userId: string, ttl: number): Item {
  return {
    ...key(connectionId, membershipSk(roomId)),
    [TABLE.roomId]: { S: roomId },
    [TABLE.userId]: { S: userId },
    [TABLE.shard]: { N: String(shardOf(connectionId)) },
    [TABLE.ttl]: { N: String(ttl) },
  };
}

/** Writes the connection item and, when the handshake named a room, its membership item. */
export async function putConnection(client: DynamoDBClient, tableName: string, record: ConnectionRecord, roomId?: string): Promise<void> {
  const items = [connectionItem(record)];
  if (roomId !== undefined) items.push(membershipItem(record.connectionId, roomId, record.userId, record.ttl));
  await Promise.all(items.map((Item) => client.send(new PutItemCommand({ TableName: tableName, Item }))));
}

/** Adds a membership (idempotent: the same item again). */
export async function putMembership(
  client: DynamoDBClient,
  tableName: string,
  connectionId: string,
  roomId: string,
  userId: string,
  ttl: number,
): Promise<void> {
  await client.send(new PutItemCommand({ TableName: tableName, Item: membershipItem(connectionId, roomId, userId, ttl) }));
}

/** A live membership. */
export interface Membership {
  readonly roomId: string;
  readonly userId: string;
  readonly ttl: number;
}

/**
 * The connection's membership of `roomId`, read with a strongly consistent GetItem (never the eventually
 * consistent index); undefined when it is not a member or the item has expired.
 */
export async function getMembership(
  client: DynamoDBClient,
  tableName: string,
  connectionId: string,
  roomId: string,
  nowSeconds: number,
): Promise<Membership | undefined> {
  const out = await client.send(new GetItemCommand({ TableName: tableName, Key: key(connectionId, membershipSk(roomId)), ConsistentRead: true }));
  const membership = out.Item ? membershipOf(out.Item) : undefined;
  return membership && membership.ttl > nowSeconds ? membership : undefined;
}

function membershipOf(item: Item): Membership | undefined {
  const roomId = item[TABLE.roomId]?.S;
  const userId = item[TABLE.userId]?.S;
  const ttl = Number(item[TABLE.ttl]?.N ?? 0);
  return roomId && userId ? { roomId, userId, ttl } : undefined;
}

/**
 * The rooms the connection is in (strongly consistent Query on its key, live items only), at most `limit` of them.
 */
export async function listMemberships(
  client: DynamoDBClient,
  tableName: string,
  connectionId: string,
  nowSeconds: number,
  limit?: number,
): Promise<string[]> {
  const rooms: string[] = [];
  let start: Item | undefined;
  do {
    const out = await client.send(new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: '#c = :c AND begins_with(#sk, :p)',
      FilterExpression: '#t > :now',
      ExpressionAttributeNames: { '#c': TABLE.partitionKey, '#sk': TABLE.sortKey, '#t': TABLE.ttl },
      ExpressionAttributeValues: { ':c': { S: connectionId }, ':p': { S: TABLE.roomSkPrefix }, ':now': { N: String(nowSeconds) } },
      ConsistentRead: true,
      ExclusiveStartKey: start,
    }));
    for (const item of out.Items ?? []) {
      const roomId = item[TABLE.roomId]?.S;
      if (roomId) rooms.push(roomId);
      if (limit !== undefined && rooms.length >= limit) return rooms;
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return rooms;
}

/**
 * Removes a membership.
 * @returns the membership that was removed, or undefined when the connection was not in the room
 */
export async function deleteMembership(
  client: DynamoDBClient,
  tableName: string,
  connectionId: string,
  roomId: string,
): Promise<Membership | undefined> {
  const out = await client.send(new DeleteItemCommand({ TableName: tableName, Key: key(connectionId, membershipSk(roomId)), ReturnValues: 'ALL_OLD' }));
  return out.Attributes ? membershipOf(out.Attributes) : undefined;
}

/** What {@link deleteConnectionItems} removed. */
export interface DeletedConnection {
  /** Items deleted. */
  readonly items: number;
  /** The user of the connection, when its connection item was found. */
  readonly userId?: string;
  /** The rooms it was in. */
  readonly rooms: string[];
}

/**
 * Deletes every item of a connection (its connection item and memberships): a strongly consistent Query on its key,
 * then batched deletes, unprocessed items retried with backoff. Deleting a connection that has no items is not an
 * error. With `keepIfCreatedAfterMs`, nothing is deleted when the connection item was written after that time (see
 * {@link deleteGoneConnection}).
 */
export async function deleteConnectionItems(
  client: DynamoDBClient,
  tableName: string,
  connectionId: string,
  options: { readonly keepIfCreatedAfterMs?: number } = {},
): Promise<DeletedConnection & { readonly kept?: boolean }> {
  const keys: Item[] = [];
  const rooms: string[] = [];
  let userId: string | undefined;
  let createdAtMs: number | undefined;
  let start: Item | undefined;
  do {
    const out = await client.send(new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: '#c = :c',
      ExpressionAttributeNames: { '#c': TABLE.partitionKey },
      ExpressionAttributeValues: { ':c': { S: connectionId } },
      ConsistentRead: true,
      ExclusiveStartKey: start,
    }));
    for (const item of out.Items ?? []) {
      const sk = item[TABLE.sortKey]?.S;
      if (sk === undefined) continue;
      keys.push(key(connectionId, sk));
      userId ??= item[TABLE.userId]?.S;
      if (sk === TABLE.connectionSk) createdAtMs = Date.parse(item[TABLE.createdAt]?.S ?? '');
      const roomId = item[TABLE.roomId]?.S;
      if (roomId && sk.startsWith(TABLE.roomSkPrefix)) rooms.push(roomId);
    }
    start = out.LastEvaluatedKey;
  } while (start);
  if (options.keepIfCreatedAfterMs !== undefined && createdAtMs !== undefined && createdAtMs > options.keepIfCreatedAfterMs) {
    return { items: 0, userId, rooms, kept: true };
  }
  await batchWrite(client, tableName, keys.map((Key) => ({ DeleteRequest: { Key } })));
  return { items: keys.length, userId, rooms };
}

/**
 * How long after its `$connect` a connection's items survive a 410 Gone. API Gateway answers 410 to a post to a
 * connection whose handshake has not completed yet — the `$connect` handler has written its items, and API Gateway
 * opens the socket only once the handler has returned — so a broadcast that meets a connection in that window would
 * otherwise delete a connection that is about to be live. A connection that really closed that young still gets its
 * `$disconnect` (and its items expire by TTL).
 */
export const HANDSHAKE_GRACE_MS = 10_000;

/**
 * Deletes the items of a connection that answered 410 Gone — unless its connection item is younger than
 * {@link HANDSHAKE_GRACE_MS} (a connection still in its handshake also answers 410).
 * @returns whether anything was deleted (false: already gone, e.g. `$disconnect` got there first, or kept)
 */
export async function deleteGoneConnection(
  client: DynamoDBClient,
  tableName: string,
  connectionId: string,
  nowMs: number = Date.now(),
): Promise<boolean> {
  const deleted = await deleteConnectionItems(client, tableName, connectionId, { keepIfCreatedAfterMs: nowMs - HANDSHAKE_GRACE_MS });
  return deleted.items > 0;
}

/** Most attempts of one batch whose items DynamoDB left unprocessed (throttling). */
const BATCH_ATTEMPTS = 8;

/**
 * BatchWriteItem in batches of 25, retrying unprocessed items with exponential backoff (capped); throws when some
 * are still unprocessed after {@link BATCH_ATTEMPTS} attempts.
 */
export async function batchWrite(client: DynamoDBClient, tableName: string, requests: readonly WriteRequest[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let batch: WriteRequest[] = requests.slice(i, i + 25);
    for (let attempt = 1; batch.length > 0; attempt++) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: batch } }));
      batch = out.UnprocessedItems?.[tableName] ?? [];
      if (batch.length === 0) break;
      if (attempt >= BATCH_ATTEMPTS) throw new Error(`BatchWriteItem left ${batch.length} item(s) unprocessed after ${attempt} attempts`);
      await sleep(Math.min(1000, 25 * 2 ** attempt) * Math.random());
    }
  }
}

/** Which part of a room to read. */
export interface RoomQuery {
  readonly tableName: string;
  readonly roomId: string;
  /** Epoch seconds: items with `ttl <= nowSeconds` are dead and skipped. */
  readonly nowSeconds: number;
  /** `Limit` of each Query (items evaluated per page); default: DynamoDB's 1 MB pages. */
  readonly pageSize?: number;
  /** Only the shards `from..to` (inclusive); default: the whole room. */
  readonly shards?: { readonly from: number; readonly to: number };
}

/** A live member of a room, as the room index holds it. */
export interface RoomMember {
  readonly connectionId: string;
  readonly userId: string;
  readonly shard: number;
}

/** One page of a room's live members, ascending `shard`. */
export interface RoomPage {
  readonly members: RoomMember[];
  /** Items DynamoDB read for this page, expired ones included (`ScannedCount`). */
  readonly itemsRead: number;
  readonly lastEvaluatedKey?: Item;
}

/**
 * One Query page of `room_id-index`: `room_id = :r` (and `shard BETWEEN :a AND :b` for a shard range), filter
 * `ttl > :now`, projecting the connection id, user and shard.
 */
export async function queryRoomPage(client: DynamoDBClient, query: RoomQuery, exclusiveStartKey?: Item): Promise<RoomPage> {
  const ranged = query.shards !== undefined;
  const out = await client.send(
    new QueryCommand({
      TableName: query.tableName,
      IndexName: TABLE.roomIndex,
      KeyConditionExpression: ranged ? '#r = :r AND #s BETWEEN :a AND :b' : '#r = :r',
      FilterExpression: '#t > :now',
      ProjectionExpression: '#c, #u, #s',
      // `ttl` is a DynamoDB reserved word: always go through names.
      ExpressionAttributeNames: { '#r': TABLE.roomId, '#t': TABLE.ttl, '#c': TABLE.partitionKey, '#u': TABLE.userId, '#s': TABLE.shard },
      ExpressionAttributeValues: {
        ':r': { S: query.roomId },
        ':now': { N: String(query.nowSeconds) },
        ...(ranged ? { ':a': { N: String(query.shards!.from) }, ':b': { N: String(query.shards!.to) } } : {}),
      },
      ExclusiveStartKey: exclusiveStartKey,
      Limit: query.pageSize,
    }),
  );
  const members: RoomMember[] = [];
  for (const item of out.Items ?? []) {
    const connectionId = item[TABLE.partitionKey]?.S;
    if (connectionId) members.push({ connectionId, userId: item[TABLE.userId]?.S ?? '', shard: Number(item[TABLE.shard]?.N ?? 0) });
  }
  return { members, itemsRead: out.ScannedCount ?? out.Count ?? members.length, lastEvaluatedKey: out.LastEvaluatedKey };
}

/**
 * The room's live members, page by page, following `LastEvaluatedKey` to the end. The next page is fetched while
 * the caller works on the current one, so at most two pages are held at a time.
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

/** A bounded read of a small room: up to `limit` live members, and whether there were more. */
export async function readRoom(client: DynamoDBClient, query: RoomQuery, limit: number): Promise<{ members: RoomMember[]; truncated: boolean }> {
  const members: RoomMember[] = [];
  let start: Item | undefined;
  do {
    const page = await queryRoomPage(client, { ...query, pageSize: Math.min(limit + 1 - members.length, 1000) }, start);
    members.push(...page.members);
    if (members.length > limit) return { members: members.slice(0, limit), truncated: true };
    start = page.lastEvaluatedKey;
  } while (start);
  return { members, truncated: false };
}

/** The live connections of a user: `user_id-index`, `user_id = :u AND sk = "connection"`, `ttl > now`. */
export async function userConnections(client: DynamoDBClient, tableName: string, userId: string, nowSeconds: number): Promise<string[]> {
  const ids: string[] = [];
  let start: Item | undefined;
  do {
    const out = await client.send(new QueryCommand({
      TableName: tableName,
      IndexName: TABLE.userIndex,
      KeyConditionExpression: '#u = :u AND #sk = :c',
      FilterExpression: '#t > :now',
      ProjectionExpression: '#id',
      ExpressionAttributeNames: { '#u': TABLE.userId, '#sk': TABLE.sortKey, '#t': TABLE.ttl, '#id': TABLE.partitionKey },
      ExpressionAttributeValues: { ':u': { S: userId }, ':c': { S: TABLE.connectionSk }, ':now': { N: String(nowSeconds) } },
      ExclusiveStartKey: start,
    }));
    for (const item of out.Items ?? []) {
      const id = item[TABLE.partitionKey]?.S;
      if (id) ids.push(id);
    }
    start = out.LastEvaluatedKey;
  } while (start);
  return ids;
}

/** The raw items of a key (e.g. a broadcast's progress marks). */
export async function itemsOfKey(client: DynamoDBClient, tableName: string, partition: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const out = await client.send(new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: '#c = :c',
      ExpressionAttributeNames: { '#c': TABLE.partitionKey },
      ExpressionAttributeValues: { ':c': { S: partition } },
      ConsistentRead: true,
      ExclusiveStartKey: start,
    }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

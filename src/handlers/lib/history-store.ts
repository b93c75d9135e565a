import { GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { StoredFrame } from './frames';
import { LIMITS, MESSAGES } from '../../shared/contract';

/**
 * A room's history (the messages table): partition `room_id`, sort `seq`. The item `seq = 0` is the room's counter
 * (`last_seq`, incremented atomically with `ADD`, never expiring, so seqs never restart); every other item is a
 * frame as delivered, kept until its `ttl`. A message is stored before it is fanned out, so a message any client saw
 * can always be replayed.
 */

type Item = Record<string, AttributeValue>;

const counterKey = (roomId: string): Item => ({
  [MESSAGES.partitionKey]: { S: roomId },
  [MESSAGES.sortKey]: { N: String(MESSAGES.counterSeq) },
});

/** Takes the room's next seq (atomic `ADD 1` on the counter item). */
export async function nextSeq(client: DynamoDBClient, tableName: string, roomId: string): Promise<number> {
  const out = await client.send(new UpdateItemCommand({
    TableName: tableName,
    Key: counterKey(roomId),
    UpdateExpression: 'ADD #l :one',
    ExpressionAttributeNames: { '#l': MESSAGES.lastSeq },
    ExpressionAttributeValues: { ':one': { N: '1' } },
    ReturnValues: 'UPDATED_NEW',
  }));
  const seq = Number(out.Attributes?.[MESSAGES.lastSeq]?.N);
  if (!Number.isSafeInteger(seq) || seq < 1) throw new Error(`the room counter returned ${String(seq)}`);
  return seq;
}

/** The room's latest seq (0 before its first message), read strongly consistent. */
export async function latestSeq(client: DynamoDBClient, tableName: string, roomId: string): Promise<number> {
  const out = await client.send(new GetItemCommand({ TableName: tableName, Key: counterKey(roomId), ConsistentRead: true }));
  return Number(out.Item?.[MESSAGES.lastSeq]?.N ?? 0);
}

/** Stores a frame under its seq, kept for `retentionSeconds`. */
export async function storeFrame(
  client: DynamoDBClient,
  tableName: string,
  frame: StoredFrame & { readonly room_id: string; readonly seq: number },
  nowSeconds: number,
  retentionSeconds: number,
): Promise<void> {
  await client.send(new PutItemCommand({
    TableName: tableName,
    Item: {
      [MESSAGES.partitionKey]: { S: frame.room_id },
      [MESSAGES.sortKey]: { N: String(frame.seq) },
      [MESSAGES.frame]: { S: JSON.stringify(frame) },
      [MESSAGES.ttl]: { N: String(nowSeconds + retentionSeconds) },
    },
  }));
}

export interface HistoryQuery {
  readonly tableName: string;
  readonly roomId: string;
  /** Messages with `seq > afterSeq`, ascending. */
  readonly afterSeq?: number;
  /** Messages with `seq < beforeSeq`, the newest first read (answered ascending). Neither: the latest messages. */
  readonly beforeSeq?: number;
  readonly limit: number;
  readonly nowSeconds: number;
  /** Stop before the frames' total JSON size passes this. @default LIMITS.maxHistoryAnswerBytes less a margin */
  readonly maxBytes?: number;
}

export interface HistoryPage {
  /** Stored frames, ascending seq. */
  readonly messages: StoredFrame[];
  /** More stored messages lie beyond this page in the requested direction. */
  readonly hasMore: boolean;
}

/** Room for the answer's envelope (`{"action":"history","room_id":…,"messages":[…],…}`) within the limit. */
const ENVELOPE_BYTES = 1024;

/**
 * The largest stored frame (UTF-8 JSON bytes) a `history` answer can hold on its own: a larger one could be stored and
 * delivered, but never replayed (every page would stop before it, with `has_more` and no messages).
 */
export const MAX_REPLAYABLE_FRAME_BYTES = LIMITS.maxHistoryAnswerBytes - ENVELOPE_BYTES - 1;

/**
 * One page of a room's history: up to `limit` live frames after `afterSeq` (or before `beforeSeq`, or the latest),
 * stopping before the answer would pass ~120 KB (API Gateway's 128 KB message limit). `hasMore` says more stored
 * messages lie beyond the page in the requested direction.
 */
export async function readHistory(client: DynamoDBClient, query: HistoryQuery): Promise<HistoryPage> {
  const backward = query.afterSeq === undefined;
  const maxBytes = (query.maxBytes ?? LIMITS.maxHistoryAnswerBytes) - ENVELOPE_BYTES;
  const lower = backward ? 1 : query.afterSeq! + 1;
  const upper = backward ? (query.beforeSeq ?? Number.MAX_SAFE_INTEGER) - 1 : Number.MAX_SAFE_INTEGER;
  const frames: Array<{ frame: StoredFrame; bytes: number }> = [];
  let bytes = 0;
  let start: Item | undefined;
  let hasMore = false;
  if (upper < lower) return { messages: [], hasMore: false };
  read: do {
    const out = await client.send(new QueryCommand({
      TableName: query.tableName,
      KeyConditionExpression: '#r = :r AND #s BETWEEN :lo AND :hi',
      FilterExpression: '#t > :now',
      ExpressionAttributeNames: { '#r': MESSAGES.partitionKey, '#s': MESSAGES.sortKey, '#t': MESSAGES.ttl },
      ExpressionAttributeValues: {
        ':r': { S: query.roomId },
        ':lo': { N: String(lower) },
        ':hi': { N: String(upper) },
        ':now': { N: String(query.nowSeconds) },
      },
      ScanIndexForward: !backward,
      // One more than asked: it tells whether more lie beyond.
      Limit: query.limit + 1 - frames.length,
      ConsistentRead: true,
      ExclusiveStartKey: start,
    }));
    for (const item of out.Items ?? []) {
      const text = item[MESSAGES.frame]?.S;
      if (text === undefined) continue;
      const size = Buffer.byteLength(text, 'utf8') + 1;
      if (frames.length >= query.limit || bytes + size > maxBytes) {
        hasMore = true;
        break read;
      }
      frames.push({ frame: JSON.parse(text) as StoredFrame, bytes: size });
      bytes += size;
    }
    start = out.LastEvaluatedKey;
  } while (start);
  const messages = frames.map((f) => f.frame);
  if (backward) messages.reverse();
  return { messages, hasMore };
}

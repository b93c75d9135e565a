import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { userConnections } from './connections-store';
import { postToConnection } from './delivery';
import type { InvocationContext } from './events';
import { deliver, emptyStats, FanoutQueryError, listRecipients, type FanoutStats } from './fanout';
import { encodeFrame, eventFrame, type EventFrame } from './frames';
import { MAX_REPLAYABLE_FRAME_BYTES, nextSeq, storeFrame } from './history-store';
import { errorFields } from './log';
import { emfFields } from './metrics';
import { postingDepsFromEnv, postPolicyOf, postTargetOf, type PostingDeps } from './posting-deps';
import { broadcastToRoom } from './room-broadcast';
import { isValidRoomId, LIMITS, TABLE } from '../../shared/contract';

/**
 * `publish`: a backend pushes an event to one connection, every live connection of a user (all their devices), or a
 * room (stored in its history with a `seq`, then fanned out like `sendMessage`). Invoked with IAM
 * (`grantPublish`), directly, from Step Functions or as an EventBridge target. Invalid input throws a
 * {@link PublishValidationError} naming the field: a failed task for Step Functions, the on-failure destination for
 * asynchronous callers — never silence. With an `idempotency_key`, a retried publish delivers once within 5 minutes.
 */

export type PublishDeps = PostingDeps;

/** The input (a JSON object). Exactly one target. */
export interface PublishInput {
  readonly room_id?: string;
  readonly user_id?: string;
  readonly connection_id?: string;
  /** 1–128 characters, e.g. `order.shipped`. */
  readonly type: string;
  /** Any JSON. */
  readonly data?: unknown;
  /** A retried publish with the same key within 5 minutes delivers nothing and answers `{"duplicate":true}`. */
  readonly idempotency_key?: string;
}

export interface PublishResult {
  readonly delivered?: number;
  readonly gone?: number;
  readonly failed?: number;
  /** The room's seq of the event (room targets, history on). */
  readonly seq?: number;
  /** The idempotency key was seen within 5 minutes: nothing was delivered this time. */
  readonly duplicate?: true;
}

/** Invalid publish input: the message names the field. */
export class PublishValidationError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'PublishValidationError';
  }
}

type Target = { readonly kind: 'room'; readonly id: string } | { readonly kind: 'user'; readonly id: string } | { readonly kind: 'connection'; readonly id: string };

export interface ValidPublish {
  readonly target: Target;
  readonly type: string;
  readonly data: unknown;
  readonly idempotencyKey?: string;
}

/** Validates the input; throws {@link PublishValidationError}. */
export function validatePublishInput(input: unknown): ValidPublish {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new PublishValidationError('input', 'must be a JSON object such as {"user_id":"alice","type":"hello","data":{}}');
  }
  const fields = input as Record<string, unknown>;
  const given = (['room_id', 'user_id', 'connection_id'] as const).filter((name) => fields[name] !== undefined && fields[name] !== null);
  if (given.length !== 1) {
    throw new PublishValidationError('target', `give exactly one of room_id, user_id, connection_id (got ${given.length === 0 ? 'none' : given.join(', ')})`);
  }
  const name = given[0];
  const id = fields[name];
  if (name === 'room_id' && !isValidRoomId(id)) throw new PublishValidationError('room_id', 'must be 1-128 characters of A-Z a-z 0-9 _ . : -');
  if (name === 'user_id' && (typeof id !== 'string' || id.length === 0 || id.length > LIMITS.maxUserIdLength)) {
    throw new PublishValidationError('user_id', `must be a string of 1-${LIMITS.maxUserIdLength} characters`);
  }
  if (name === 'connection_id' && (typeof id !== 'string' || !/^[A-Za-z0-9_=+/-]{1,128}$/.test(id))) {
    throw new PublishValidationError('connection_id', 'must be an API Gateway connection id');
  }
  const type = fields.type;
  if (typeof type !== 'string' || type.length === 0 || type.length > LIMITS.maxEventTypeLength) {
    throw new PublishValidationError('type', `must be a string of 1-${LIMITS.maxEventTypeLength} characters`);
  }
  const key = fields.idempotency_key;
  if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 256)) {
    throw new PublishValidationError('idempotency_key', 'must be a string of 1-256 characters');
  }
  const kind = name === 'room_id' ? 'room' : name === 'user_id' ? 'user' : 'connection';
  return { target: { kind, id: id as string }, type, data: fields.data ?? null, idempotencyKey: key as string | undefined };
}

export function publishDepsFromEnv(): PublishDeps {
  return postingDepsFromEnv();
}

export async function publish(input: unknown, deps: PublishDeps, context?: InvocationContext): Promise<PublishResult> {
  const now = deps.now ?? Date.now;
  const startedMs = now();
  const nowSeconds = Math.floor(startedMs / 1000);
  const remainingMs = context?.getRemainingTimeInMillis?.();
  const base = { event: 'publish', requestId: context?.awsRequestId };
  let request: ValidPublish;
  try {
    request = validatePublishInput(input);
  } catch (err) {
    deps.log({ level: 'warn', ...base, outcome: 'invalid', ...errorFields(err) });
    throw err;
  }
  const { target, type, data } = request;
  const eventId = randomUUID();
  const timestamp = new Date(startedMs).toISOString();
  const history = deps.config.messagesTable;
  const roomTarget = target.kind === 'room';
  const frameWith = (seq?: number): EventFrame =>
    eventFrame({ eventId, type, data, timestamp, ...(roomTarget ? { roomId: target.id, seq } : {}) });
  const stored = roomTarget && !!history;
  const widest = encodeFrame(frameWith(stored ? Number.MAX_SAFE_INTEGER : undefined));
  // A room event is stored before it is delivered, and must fit a `history` answer to be replayable.
  const maxBytes = stored ? MAX_REPLAYABLE_FRAME_BYTES : LIMITS.maxMessageBytes;
  if (widest.length > maxBytes) {
    const why = stored ? 'a room event is stored, and must fit a history answer' : "API Gateway's message limit";
    const error = new PublishValidationError('data', `the event frame would be ${widest.length} bytes; the limit is ${maxBytes} bytes (${why})`);
    deps.log({ level: 'warn', ...base, outcome: 'invalid', ...errorFields(error) });
    throw error;
  }

  const fields = { target: target.kind, targetId: target.kind === 'user' ? undefined : target.id, type, eventId };
  const markKey = request.idempotencyKey === undefined ? undefined : { [TABLE.partitionKey]: { S: `${TABLE.idempotencyPrefix}${request.idempotencyKey}` }, [TABLE.sortKey]: { S: TABLE.idempotencySk } };
  if (markKey) {
    try {
      await deps.dynamo.send(new PutItemCommand({
        TableName: deps.config.tableName,
        Item: { ...markKey, [TABLE.ttl]: { N: String(nowSeconds + LIMITS.idempotencyTtlSeconds) } },
        // A mark past its TTL (not yet deleted by DynamoDB) no longer counts.
        ConditionExpression: 'attribute_not_exists(#c) OR #t <= :now',
        ExpressionAttributeNames: { '#c': TABLE.partitionKey, '#t': TABLE.ttl },
        ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
      }));
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || (err as { name?: string }).name === 'ConditionalCheckFailedException') {
        deps.log({ level: 'info', ...base, ...fields, outcome: 'duplicate' });
        return { duplicate: true };
      }
      throw err;
    }
  }

  let stats: FanoutStats = emptyStats();
  let seq: number | undefined;
  try {
    if (target.kind === 'connection') {
      const result = await postToConnection(postTargetOf(deps), postPolicyOf(deps, remainingMs), target.id, encodeFrame(frameWith()));
      stats.recipients = 1;
      stats[result.outcome]++;
    } else if (target.kind === 'user') {
      const ids = await userConnections(deps.dynamo, deps.config.tableName, target.id, nowSeconds);
      const frame = encodeFrame(frameWith());
      stats = await deliver({
        ...postPolicyOf(deps, remainingMs),
        target: postTargetOf(deps),
        recipients: listRecipients(ids),
        payload: () => frame,
        concurrency: deps.config.fanoutConcurrency,
        startedMs,
      });
    } else {
      if (history) {
        seq = await nextSeq(deps.dynamo, history, target.id);
        await storeFrame(deps.dynamo, history, { ...frameWith(seq), room_id: target.id, seq }, nowSeconds, deps.config.historyRetentionSeconds);
      }
      stats = await broadcastToRoom(deps, { roomId: target.id, frame: encodeFrame(frameWith(seq)), startedMs }, remainingMs);
    }
  } catch (err) {
    // The publish failed: a retry with the same key must not be taken for a duplicate.
    if (markKey) await deps.dynamo.send(new DeleteItemCommand({ TableName: deps.config.tableName, Key: markKey })).catch(() => undefined);
    const partial = err instanceof FanoutQueryError ? err.stats : stats;
    deps.log({ level: 'error', ...base, ...fields, seq, outcome: 'error', ...partial, ...errorFields(err instanceof FanoutQueryError ? err.cause : err) });
    throw err;
  }
  if (markKey && stats.delivered === 0 && stats.failed > 0) {
    // Nothing reached anyone and something could not be reached: a retry with the same key must be able to deliver.
    await deps.dynamo.send(new DeleteItemCommand({ TableName: deps.config.tableName, Key: markKey })).catch(() => undefined);
  }
  deps.log({
    level: stats.failed > 0 ? 'warn' : 'info',
    ...base,
    ...fields,
    seq,
    outcome: 'published',
    ...stats,
    durationMs: now() - startedMs,
    ...emfFields(
      deps.config.metricsNamespace,
      apiIdOf(deps.config.managementEndpoint),
      { ...stats, stored: seq !== undefined ? 1 : undefined },
      startedMs,
    ),
  });
  return { delivered: stats.delivered, gone: stats.gone, failed: stats.failed, ...(seq !== undefined ? { seq } : {}) };
}

/** The API id from the management endpoint's host (`{apiId}.execute-api…`); the metrics' `ApiId` dimension. */
export function apiIdOf(endpoint: string): string {
  try {
    return new URL(endpoint).hostname.split('.')[0] || 'unknown';
  } catch {
    return 'unknown';
  }
}

import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { itemsOfKey } from './connections-store';
import type { InvocationContext } from './events';
import { fanOutRoom, FanoutQueryError } from './fanout';
import { errorFields } from './log';
import { emfFields } from './metrics';
import { postPolicyOf, type PostingDeps } from './posting-deps';
import { apiIdOf } from './publish';
import { RateLimiter } from './rate-limiter';
import { parseWorkerEvent } from './sharding';
import { TABLE } from '../../shared/contract';

/** What a worker did. */
export interface WorkerResult {
  readonly delivered: number;
  readonly gone: number;
  readonly failed: number;
  /** Shards skipped because an earlier attempt of this worker finished them. */
  readonly skippedShards: number;
}

/** Progress marks live this long (a retried worker comes within Lambda's maximum event age). */
const PROGRESS_TTL_SECONDS = 15 * 60;

/** The key of a broadcast's progress marks. */
export function progressPartition(broadcastId: string): string {
  return `${TABLE.progressPrefix}${broadcastId}`;
}

/**
 * The fan-out worker: delivers one shard range of a large room's broadcast (`room_id = :r AND shard BETWEEN :a AND
 * :b`) at its share of the rate budget. Each shard it finishes gets a progress mark, so when the worker fails and
 * Lambda retries it, the retry skips those shards instead of posting to them again. A worker that ran out of time
 * throws (after writing its marks), so Lambda retries it for the rest; after the retries, the event lands in the
 * on-failure queue, which has an alarm.
 */
export async function runFanoutWorker(input: unknown, deps: PostingDeps, context?: InvocationContext): Promise<WorkerResult> {
  const event = parseWorkerEvent(input);
  const now = deps.now ?? Date.now;
  const startedMs = now();
  const base = { event: 'fanoutWorker', requestId: context?.awsRequestId, broadcastId: event.broadcast_id, roomId: event.room_id, shards: `${event.shard_from}-${event.shard_to}` };
  const { tableName } = deps.config;
  const partition = progressPartition(event.broadcast_id);
  const done = new Set<number>();
  for (const item of await itemsOfKey(deps.dynamo, tableName, partition)) {
    const shard = Number(item[TABLE.sortKey]?.S?.replace(/^shard#/, ''));
    if (Number.isInteger(shard)) done.add(shard);
  }
  const marks: Array<Promise<unknown>> = [];
  const mark = (shard: number): void => {
    marks.push(deps.dynamo.send(new PutItemCommand({
      TableName: tableName,
      Item: {
        [TABLE.partitionKey]: { S: partition },
        [TABLE.sortKey]: { S: `shard#${shard}` },
        [TABLE.ttl]: { N: String(Math.floor(startedMs / 1000) + PROGRESS_TTL_SECONDS) },
      },
    })).catch((err: unknown) => deps.log({ level: 'warn', ...base, outcome: 'mark_failed', shard, ...errorFields(err) })));
  };
  const skipped = [...done].filter((s) => s >= event.shard_from && s <= event.shard_to).length;
  let stats;
  try {
    stats = await fanOutRoom({
      ...postPolicyOf(deps, context?.getRemainingTimeInMillis?.()),
      dynamo: deps.dynamo,
      management: deps.management,
      tableName,
      roomId: event.room_id,
      data: Buffer.from(event.frame, 'utf8'),
      sender: event.sender ? { connectionId: event.sender.connection_id, data: Buffer.from(event.sender.frame, 'utf8') } : undefined,
      concurrency: deps.config.fanoutConcurrency,
      nowSeconds: event.now_seconds,
      shards: { from: event.shard_from, to: event.shard_to },
      skipShards: done,
      rate: new RateLimiter(event.rate, deps.now),
      startedMs,
      onShardDone: mark,
    });
  } catch (err) {
    await Promise.all(marks);
    const partial = err instanceof FanoutQueryError ? err.stats : undefined;
    deps.log({ level: 'error', ...base, outcome: 'error', ...partial, ...errorFields(err instanceof FanoutQueryError ? err.cause : err) });
    throw err;
  }
  await Promise.all(marks);
  const level = stats.truncated ? 'error' : stats.failed > 0 ? 'warn' : 'info';
  deps.log({
    level,
    ...base,
    outcome: stats.truncated ? 'truncated' : 'delivered',
    skippedShards: skipped,
    ...stats,
    durationMs: now() - startedMs,
    ...emfFields(deps.config.metricsNamespace, apiIdOf(deps.config.managementEndpoint), stats, startedMs),
  });
  if (stats.truncated) {
    // Lambda retries the worker; its marks let the retry skip the shards finished here.
    throw new Error(`fan-out worker ran out of time for shards ${event.shard_from}-${event.shard_to}: retrying the unfinished shards`);
  }
  return { delivered: stats.delivered, gone: stats.gone, failed: stats.failed, skippedShards: skipped };
}

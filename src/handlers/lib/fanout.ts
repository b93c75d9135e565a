import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { roomPages, type RoomPage } from './connections-store';
import { postToConnection, type PostPolicy, type PostResult, type StatusPoster } from './delivery';

/** Everything a fan-out needs, injected (the handler builds it from the environment; a benchmark its own). */
export interface FanoutOptions extends PostPolicy {
  readonly dynamo: DynamoDBClient;
  /** The `@connections` client (see `createManagementClient`), or any {@link StatusPoster}. */
  readonly management: StatusPoster;
  readonly tableName: string;
  readonly roomId: string;
  /** The encoded frame, posted as is to every recipient. */
  readonly data: Uint8Array | string;
  /** Posts in flight at once. */
  readonly concurrency: number;
  /** `Limit` of each Query page; default: DynamoDB's 1 MB pages. */
  readonly pageSize?: number;
  /** Epoch seconds for the `ttl > now` filter; default: the clock. */
  readonly nowSeconds?: number;
  /** Called after each post (e.g. for logging or tests). */
  readonly onPost?: (connectionId: string, result: PostResult) => void;
}

/** What a fan-out did. */
export interface FanoutStats {
  /** Live connections found (each posted to). */
  recipients: number;
  delivered: number;
  /** Answered 410 Gone (their rows are deleted). */
  gone: number;
  /** Not delivered after the retries, or refused (403 / 413 / other 4xx). */
  failed: number;
  /** Items DynamoDB read, expired rows included. */
  itemsRead: number;
  /** Query pages read. */
  pages: number;
  /**
   * The broadcast stopped at its deadline: the recipients read but not posted to are counted in `failed`; the
   * rest of the room was not read.
   */
  truncated: boolean;
}

/** The room's Query failed part-way; `stats` tells what was posted before (in-flight posts are settled). */
export class FanoutQueryError extends Error {
  constructor(readonly stats: FanoutStats, cause: unknown) {
    super(`querying the room's connections failed: ${(cause as Error | undefined)?.message ?? String(cause)}`, { cause });
    this.name = 'FanoutQueryError';
  }
}

export function emptyStats(): FanoutStats {
  return { recipients: 0, delivered: 0, gone: 0, failed: 0, itemsRead: 0, pages: 0, truncated: false };
}

/**
 * Posts `data` to every live connection of `roomId` (DESIGN §4). Pages of `room_id-index` are streamed: posting
 * starts with the first page while the next one is fetched, and at most two pages are held. At most
 * `concurrency` posts are in flight. One connection's failure never fails the broadcast: only a failed Query
 * rejects (with a {@link FanoutQueryError} carrying the partial stats, after in-flight posts settle).
 */
export async function fanOut(options: FanoutOptions): Promise<FanoutStats> {
  const stats = emptyStats();
  const pages = roomPages(options.dynamo, {
    tableName: options.tableName,
    roomId: options.roomId,
    nowSeconds: options.nowSeconds ?? Math.floor(Date.now() / 1000),
    pageSize: options.pageSize,
  });
  const ids = connectionIds(pages, stats);
  const target = { management: options.management, dynamo: options.dynamo, tableName: options.tableName };

  const now = options.now ?? Date.now;
  // No first attempt starts that could not finish before the deadline (the Lambda's own timeout, less a
  // reserve): the invocation then ends with its log line and metrics instead of being killed mid-broadcast.
  const pastDeadline = (): boolean => options.deadlineMs !== undefined && now() + options.timeoutMs > options.deadlineMs;
  const worker = async (): Promise<void> => {
    // Concurrent next() calls on one async generator are queued, so each id goes to exactly one worker.
    for (let next = await ids.next(); !next.done; next = await ids.next()) {
      const connectionId = next.value;
      if (stats.truncated || pastDeadline()) {
        stats.truncated = true;
        stats.failed++;
        return;
      }
      const result = await postToConnection(target, options, connectionId, options.data);
      stats[result.outcome]++;
      options.onPost?.(connectionId, result);
    }
  };

  const workers = Math.max(1, Math.floor(options.concurrency));
  const settled = await Promise.allSettled(Array.from({ length: workers }, worker));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw new FanoutQueryError(stats, failure.reason);
  return stats;
}

async function* connectionIds(pages: AsyncIterable<RoomPage>, stats: FanoutStats): AsyncGenerator<string, void, undefined> {
  for await (const page of pages) {
    stats.pages++;
    stats.itemsRead += page.itemsRead;
    for (const id of page.connectionIds) {
      stats.recipients++;
      yield id;
    }
  }
}

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { roomPages, type RoomPage } from './connections-store';
import {
  attemptPost,
  fitsDeadline,
  goneResult,
  postToConnection,
  type AttemptFailure,
  type PostPolicy,
  type PostResult,
  type PostTarget,
  type StatusPoster,
} from './delivery';
import type { RateLimiter } from './rate-limiter';
import { backoffDelayMs, sleep as timerSleep } from './retry';
import { shardOf } from '../../shared/contract';

/**
 * The fan-out: one frame to many connections, with bounded concurrency, in two passes. Every recipient gets its first
 * attempt before any recipient gets a retry (a retry queue, not retries in place: hanging connections cannot starve
 * healthy ones), and no attempt starts that could not finish before the invocation's deadline. 410 Gone deletes the
 * connection's items; 429 / 5xx / time-outs are retried with backoff; 403 / 413 fail at once. One connection's
 * failure never fails the broadcast.
 */

/** A connection to post to; `shard` when it came from the room index (progress is tracked per shard). */
export interface Recipient {
  readonly connectionId: string;
  readonly shard?: number;
}

/** What a fan-out did. */
export interface FanoutStats {
  /** Live connections found (each posted to, or counted failed when the deadline came first). */
  recipients: number;
  delivered: number;
  /** Answered 410 Gone (their items are deleted). */
  gone: number;
  /** Not delivered after the retries, refused (403 / 413 / other 4xx), or cut by the deadline. */
  failed: number;
  /** Items DynamoDB read, expired ones included. */
  itemsRead: number;
  /** Query pages read. */
  pages: number;
  /** Retry attempts made. */
  retries: number;
  /** 429s received. */
  throttled: number;
  /** Fan-out workers this broadcast started (sharded broadcasts). */
  workers: number;
  /** Milliseconds from the start to the last post's answer. */
  timeToLastPostMs: number;
  /** The deadline came first: recipients read but not posted to are counted in `failed`; the rest was not read. */
  truncated: boolean;
}

export function emptyStats(): FanoutStats {
  return {
    recipients: 0,
    delivered: 0,
    gone: 0,
    failed: 0,
    itemsRead: 0,
    pages: 0,
    retries: 0,
    throttled: 0,
    workers: 0,
    timeToLastPostMs: 0,
    truncated: false,
  };
}

/** The room's Query failed part-way; `stats` tells what was posted before (in-flight posts are settled). */
export class FanoutQueryError extends Error {
  constructor(readonly stats: FanoutStats, cause: unknown) {
    super(`querying the room's connections failed: ${(cause as Error | undefined)?.message ?? String(cause)}`, { cause });
    this.name = 'FanoutQueryError';
  }
}

export interface DeliverOptions extends PostPolicy {
  readonly target: PostTarget;
  readonly recipients: AsyncIterable<Recipient>;
  /** The bytes for one recipient (the sender's own copy may differ: it echoes its `request_id`). */
  readonly payload: (connectionId: string) => Uint8Array | string;
  /** Posts in flight at once. */
  readonly concurrency: number;
  /** Paces attempts (a share of the account's rate); 429s slow it down. */
  readonly rate?: RateLimiter;
  /** Counts of the source (pages, items read) are added here. @default a new one */
  readonly stats?: FanoutStats;
  /** Epoch ms the broadcast started (for `timeToLastPostMs`). @default now */
  readonly startedMs?: number;
  /** Called after each recipient's final outcome. */
  readonly onPost?: (connectionId: string, result: PostResult) => void;
  /** Called once every recipient of a shard has its final outcome (recipients must come in ascending shard). */
  readonly onShardDone?: (shard: number) => void;
}

interface RetryJob {
  readonly recipient: Recipient;
  readonly attempts: number;
  readonly readyAt: number;
  readonly last: AttemptFailure;
}

/**
 * Delivers to every recipient of the source (see the module comment). Rejects only when the source itself fails (a
 * {@link FanoutQueryError} with the stats so far, after in-flight posts settle).
 */
export async function deliver(options: DeliverOptions): Promise<FanoutStats> {
  const stats = options.stats ?? emptyStats();
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? timerSleep;
  const started = options.startedMs ?? now();
  const maxAttempts = Math.max(1, options.maxAttempts);
  const iterator = options.recipients[Symbol.asyncIterator]();
  const retries: RetryJob[] = [];
  const shards = new ShardProgress(options.onShardDone);
  let sourceDone = false;
  let sourceError: unknown;
  let reading: Promise<IteratorResult<Recipient>> = Promise.resolve({ done: false, value: undefined as unknown as Recipient });

  /** The next recipient: concurrent callers are served one after the other. */
  const next = async (): Promise<Recipient | undefined> => {
    const turn = reading.then(async () => {
      if (sourceDone) return { done: true, value: undefined } as IteratorResult<Recipient>;
      try {
        return await iterator.next();
      } catch (err) {
        sourceError ??= err;
        return { done: true, value: undefined } as IteratorResult<Recipient>;
      }
    });
    reading = turn;
    const result = await turn;
    if (result.done) {
      if (!sourceDone) {
        sourceDone = true;
        // A failed read ends the source too, but its last shard was not read to the end.
        if (sourceError === undefined) shards.sourceEnded();
      }
      return undefined;
    }
    stats.recipients++;
    shards.read(result.value.shard);
    return result.value;
  };

  const settle = (recipient: Recipient, result: PostResult): void => {
    stats[result.outcome]++;
    stats.timeToLastPostMs = now() - started;
    options.onPost?.(recipient.connectionId, result);
    shards.settled(recipient.shard, result.deadline === true);
  };

  /**
   * One attempt; a retryable failure is queued (or settled as failed when out of attempts). The wait for the rate
   * limiter can be long (after 429s, or for a worker's small share): the deadline is checked again after it, so no
   * attempt starts past the deadline.
   */
  const attempt = async (recipient: Recipient, attemptsBefore: number, last?: AttemptFailure): Promise<void> => {
    if (options.rate) {
      await options.rate.take();
      if (!fitsDeadline(options)) {
        if (attemptsBefore === 0) stats.truncated = true;
        return settle(recipient, { outcome: 'failed', attempts: attemptsBefore, status: last?.status, errorName: last?.errorName, deadline: true });
      }
    }
    const failure = await attemptPost(options.target.management, recipient.connectionId, options.payload(recipient.connectionId), options.timeoutMs);
    const attempts = attemptsBefore + 1;
    if (failure === undefined) return settle(recipient, { outcome: 'delivered', attempts });
    if (failure.status === 429) {
      stats.throttled++;
      options.rate?.throttle();
    }
    if (failure.kind === 'gone') return settle(recipient, await goneResult(options.target, recipient.connectionId, attempts, failure));
    if (failure.kind === 'fatal' || attempts >= maxAttempts) {
      return settle(recipient, { outcome: 'failed', attempts, status: failure.status, errorName: failure.errorName });
    }
    retries.push({ recipient, attempts, readyAt: now() + backoffDelayMs(attempts, options.backoffBaseMs, options.random), last: failure });
  };

  // Pass 1: a first attempt for every recipient.
  const firstPass = async (): Promise<void> => {
    for (;;) {
      if (stats.truncated) return;
      const recipient = await next();
      if (!recipient) return;
      if (!fitsDeadline(options)) {
        stats.truncated = true;
        settle(recipient, { outcome: 'failed', attempts: 0, deadline: true });
        return;
      }
      await attempt(recipient, 0);
    }
  };

  // Pass 2: the retry queue, in order of readiness, while attempts still fit before the deadline.
  let retrying = 0;
  const retryPass = async (): Promise<void> => {
    while (retries.length > 0 || retrying > 0) {
      const job = takeReady(retries);
      if (!job) {
        // Another worker's attempt may still queue a retry. (A real timer: an injected sleep may not yield to I/O.)
        await timerSleep(5);
        continue;
      }
      retrying++;
      try {
        const wait = Math.max(0, job.readyAt - now());
        if (!fitsDeadline(options, wait)) {
          settle(job.recipient, { outcome: 'failed', attempts: job.attempts, status: job.last.status, errorName: job.last.errorName, deadline: true });
          continue;
        }
        if (wait > 0) await sleep(wait);
        stats.retries++;
        await attempt(job.recipient, job.attempts, job.last);
      } finally {
        retrying--;
      }
    }
  };

  const workers = Math.max(1, Math.floor(options.concurrency));
  await Promise.all(Array.from({ length: workers }, firstPass));
  // Recipients read but cut by the deadline.
  if (stats.truncated) {
    for (let job = retries.shift(); job; job = retries.shift()) {
      settle(job.recipient, { outcome: 'failed', attempts: job.attempts, status: job.last.status, errorName: job.last.errorName, deadline: true });
    }
  } else {
    await Promise.all(Array.from({ length: Math.min(workers, Math.max(1, retries.length)) }, retryPass));
  }
  if (sourceError !== undefined) throw new FanoutQueryError(stats, sourceError);
  return stats;
}

/** The job whose retry is due first. */
function takeReady(queue: RetryJob[]): RetryJob | undefined {
  if (queue.length === 0) return undefined;
  let best = 0;
  for (let i = 1; i < queue.length; i++) if (queue[i].readyAt < queue[best].readyAt) best = i;
  return queue.splice(best, 1)[0];
}

/** Tracks, per shard, recipients read but not yet settled; reports a shard once it is read past and all settled. */
class ShardProgress {
  private readonly pending = new Map<number, number>();
  private readonly cut = new Set<number>();
  private readShard = Number.NEGATIVE_INFINITY;
  private ended = false;

  constructor(private readonly onDone?: (shard: number) => void) {}

  read(shard: number | undefined): void {
    if (shard === undefined || !this.onDone) return;
    if (shard > this.readShard) {
      this.readShard = shard;
      this.flush();
    }
    this.pending.set(shard, (this.pending.get(shard) ?? 0) + 1);
  }

  /** @param cut the deadline came first: the shard is not finished, and is never reported */
  settled(shard: number | undefined, cut: boolean): void {
    if (shard === undefined || !this.onDone) return;
    if (cut) this.cut.add(shard);
    this.pending.set(shard, (this.pending.get(shard) ?? 1) - 1);
    this.flush();
  }

  sourceEnded(): void {
    this.ended = true;
    this.flush();
  }

  private flush(): void {
    for (const [shard, count] of this.pending) {
      if (count === 0 && (this.ended || shard < this.readShard)) {
        this.pending.delete(shard);
        if (!this.cut.has(shard)) this.onDone!(shard);
      }
    }
  }
}

/** Hands the rest of a large room (shards `fromShard`…) to workers. */
export interface Handoff {
  /** Recipients this invocation posts to itself before it hands the rest over (at a shard boundary). */
  readonly threshold: number;
  /**
   * Starts workers for the shards from `fromShard` on; resolves to the number of workers started, or 0 when none
   * could be (the invocation then reads and posts the rest itself, as far as its deadline allows). Called as soon as
   * the room has been read past the threshold, while the invocation still posts to what it read: `stats.recipients`
   * is the number of members of the shards before `fromShard`.
   */
  readonly dispatch: (fromShard: number, stats: FanoutStats) => Promise<number>;
}

export interface RoomFanoutOptions extends PostPolicy {
  readonly dynamo: DynamoDBClient;
  /** The `@connections` client (see `createManagementClient`), or any {@link StatusPoster}. */
  readonly management: StatusPoster;
  readonly tableName: string;
  readonly roomId: string;
  /** The encoded frame, posted as is to every recipient. */
  readonly data: Uint8Array | string;
  /** The sender and its own copy (it echoes its `request_id`); it always gets it, even before the index has it. */
  readonly sender?: { readonly connectionId: string; readonly data: Uint8Array | string };
  /** Posts in flight at once. */
  readonly concurrency: number;
  /** `Limit` of each Query page; default: DynamoDB's 1 MB pages. */
  readonly pageSize?: number;
  /** Epoch seconds for the `ttl > now` filter. */
  readonly nowSeconds: number;
  /** Only these shards (a worker's range). */
  readonly shards?: { readonly from: number; readonly to: number };
  /** Shards to skip (a retried worker's finished ones). */
  readonly skipShards?: ReadonlySet<number>;
  /** Large rooms: hand the rest to workers past a threshold. */
  readonly handoff?: Handoff;
  readonly rate?: RateLimiter;
  readonly startedMs?: number;
  readonly onPost?: (connectionId: string, result: PostResult) => void;
  readonly onShardDone?: (shard: number) => void;
}

/** A room fan-out's stats, and where it handed over to workers (if it did). */
export interface RoomFanoutStats extends FanoutStats {
  /** The first shard handed to workers. */
  handedOffFrom?: number;
}

/**
 * Posts to every live member of a room (or of a shard range of it), reading `room_id-index` in shard order, pages
 * streamed (posting starts with the first page while the next is fetched; at most two pages held). With a handoff, it
 * stops reading at the first shard boundary past the threshold and hands the remaining shards to workers — as soon
 * as it has read that far, so the workers start while it posts to the shards it keeps.
 */
export async function fanOutRoom(options: RoomFanoutOptions): Promise<RoomFanoutStats> {
  const stats: RoomFanoutStats = emptyStats();
  const pages = roomPages(options.dynamo, {
    tableName: options.tableName,
    roomId: options.roomId,
    nowSeconds: options.nowSeconds,
    pageSize: options.pageSize,
    shards: options.shards,
  });
  const sender = options.sender;
  let senderReached = false;
  const target: PostTarget = { management: options.management, dynamo: options.dynamo, tableName: options.tableName };
  const result = await deliver({
    ...options,
    target,
    stats,
    recipients: roomRecipients(pages, stats, options.handoff, options.skipShards),
    payload: sender ? (id) => (id === sender.connectionId ? sender.data : options.data) : () => options.data,
    onPost: (id, post) => {
      if (id === sender?.connectionId) senderReached = true;
      options.onPost?.(id, post);
    },
  });
  if (sender && !senderReached && !result.truncated && ownsShard(options, stats, shardOf(sender.connectionId))) {
    // The room index is eventually consistent: right after a join, the sender's own item may not be in it yet.
    // The sender always gets its message.
    const own = await postToConnection(target, options, sender.connectionId, sender.data);
    result.recipients++;
    result[own.outcome]++;
    options.onPost?.(sender.connectionId, own);
  }
  return result;
}

/** Whether this fan-out (not a worker) is the one to reach a connection of `shard`. */
function ownsShard(options: RoomFanoutOptions, stats: RoomFanoutStats, shard: number): boolean {
  if (options.shards && (shard < options.shards.from || shard > options.shards.to)) return false;
  if (options.skipShards?.has(shard)) return false;
  return stats.handedOffFrom === undefined || shard < stats.handedOffFrom;
}

async function* roomRecipients(
  pages: AsyncGenerator<RoomPage>,
  stats: RoomFanoutStats,
  handoff: Handoff | undefined,
  skip: ReadonlySet<number> | undefined,
): AsyncGenerator<Recipient, void, undefined> {
  const iterator = pages[Symbol.asyncIterator]();
  // Members read so far (in shard order), and the shard of the last one: where the handoff falls.
  let read = 0;
  let lastShard = -1;
  /** The handoff, once the room has been read past the threshold: the first member handed over, and the dispatch. */
  let cut: { readonly page: RoomPage; readonly index: number; readonly workers: Promise<number> } | undefined;
  let deciding = handoff !== undefined;
  /** Pages asked for, in order. */
  const queue: Array<Promise<IteratorResult<RoomPage>>> = [];

  /**
   * Asks for the next page. Each is counted, and scanned for the handoff, as soon as it arrives; while the handoff is
   * undecided the next is asked for at once (the room is read up to the threshold without waiting for the posting, at
   * most a threshold and a page held), so the workers start while this invocation posts to the shards it keeps.
   */
  const readNext = (): void => {
    const arrival = iterator.next().then((result) => {
      if (result.done) return result;
      const page = result.value;
      stats.pages++;
      stats.itemsRead += page.itemsRead;
      if (deciding && !cut) {
        for (let i = 0; i < page.members.length; i++) {
          const member = page.members[i];
          if (member.shard > lastShard && lastShard >= 0 && read >= handoff!.threshold) {
            const workers = handoff!.dispatch(member.shard, { ...stats, recipients: read });
            // Counted once started (the posting may not reach the cut before a deadline); awaited at the cut.
            const from = member.shard;
            workers.then((n) => {
              if (n > 0) {
                stats.workers = n;
                stats.handedOffFrom = from;
              }
            }, () => undefined);
            cut = { page, index: i, workers };
            break;
          }
          lastShard = member.shard;
          read++;
        }
        if (!cut) readNext();
      }
      return result;
    });
    arrival.catch(() => undefined); // awaited below, unless the posting stops first (a deadline)
    queue.push(arrival);
  };

  const recipientsOf = function* (page: RoomPage, from: number, to: number): Generator<Recipient> {
    for (let i = from; i < to; i++) {
      const member = page.members[i];
      if (!skip?.has(member.shard)) yield { connectionId: member.connectionId, shard: member.shard };
    }
  };

  readNext();
  for (;;) {
    const result = await queue.shift()!;
    if (result.done) return;
    const page = result.value;
    if (cut?.page === page) {
      yield* recipientsOf(page, 0, cut.index);
      deciding = false;
      // Workers started: the rest of the room is theirs (`stats` counted them when they started, above).
      if ((await cut.workers) > 0) return;
      // No worker could be started: go on reading and posting as far as the deadline allows.
      yield* recipientsOf(page, cut.index, page.members.length);
    } else {
      yield* recipientsOf(page, 0, page.members.length);
    }
    if (queue.length === 0) readNext();
  }
}

/** Recipients from a list of connection ids (a user's connections). */
export async function* listRecipients(ids: readonly string[]): AsyncGenerator<Recipient, void, undefined> {
  for (const connectionId of ids) yield { connectionId };
}

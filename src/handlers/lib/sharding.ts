import { randomUUID } from 'node:crypto';
import type { FanoutStats, Handoff } from './fanout';
import type { AsyncInvoker } from './lambda-invoke';
import type { Logger } from './log';
import { errorFields } from './log';
import { backoffDelayMs, sleep } from './retry';
import { SHARDS } from '../../shared/contract';

/**
 * Large rooms. One invocation is CPU-bound (signing and sending each post) and has 29 s, so a broadcast reads the room
 * in `shard` order and, past a threshold, hands the shards it has not read to parallel workers: asynchronous Lambda
 * invokes of the fan-out worker (two retries within a maximum event age of 10 minutes, then an on-failure queue with an
 * alarm).
 * Asynchronous invokes rather than a queue: a worker starts within tens of milliseconds, a failed worker is retried by
 * Lambda, and the worker's progress marks let a retry skip the shards it finished. All workers of a broadcast (and
 * the broadcast itself) share a rate budget, each pacing itself at a share in proportion to its part of the room.
 */

/** The event a fan-out worker receives. */
export interface WorkerEvent {
  /** One id per broadcast: the key of its workers' progress marks. */
  readonly broadcast_id: string;
  readonly room_id: string;
  /** Inclusive shard range. */
  readonly shard_from: number;
  readonly shard_to: number;
  /** The frame to post (UTF-8 JSON text). */
  readonly frame: string;
  /** The sender, when it is in this range and the index may not list it yet: it gets its own copy. */
  readonly sender?: { readonly connection_id: string; readonly frame: string };
  /** Posts per second this worker may make. */
  readonly rate: number;
  /** Epoch seconds of the broadcast (the `ttl > now` filter). */
  readonly now_seconds: number;
}

export interface DispatchSettings {
  readonly invoker: AsyncInvoker;
  readonly workerFunction: string;
  readonly threshold: number;
  readonly maxWorkers: number;
  /** Posts per second shared by the broadcast and all its workers. */
  readonly rateBudget: number;
  /**
   * Epoch ms by which the broadcast must have posted to the members it keeps (its own deadline, less room for a
   * retry): its share is at least what that takes, the workers (whose deadline is far later) share the rest.
   */
  readonly ownDeadlineMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  readonly log: Logger;
}

export interface Broadcast {
  readonly roomId: string;
  readonly frame: string;
  readonly sender?: { readonly connectionId: string; readonly frame: string };
  readonly nowSeconds: number;
}

/** Shard ranges no worker could be started for (the broadcast then fans them out itself). */
export interface DispatchOutcome {
  readonly workers: number;
  readonly failedRanges: Array<{ from: number; to: number }>;
  /** The broadcast's own share of the rate budget: for the members it keeps, and for the ranges no worker took. */
  readonly broadcastRate: number;
}

/**
 * The rate budget split in proportion to each participant's part of the room: the members the broadcast has read and
 * not posted to yet, and each range's estimate. Everyone then finishes at about the same time and the whole budget
 * stays in use; an equal split leaves the broadcast's share idle once it is done with its few shards (a large room
 * over 2 workers was delivered at two thirds of the budget, over 16 at ~97 %). Each share is at least 1. The
 * broadcast's share is at least `minOwn` (what it needs to finish its part before its own deadline, which comes long
 * before the workers'); the workers then share the rest of the budget in proportion.
 */
export function rateShares(budget: number, own: number, estimates: readonly number[], minOwn = 1): { own: number; workers: number[] } {
  const weights = [own, ...estimates].map((w) => Math.max(1, w));
  const total = weights.reduce((a, b) => a + b, 0);
  const [mine, ...workers] = weights.map((w) => Math.max(1, Math.floor((budget * w) / total)));
  if (mine >= minOwn) return { own: mine, workers };
  const kept = Math.max(1, Math.min(Math.ceil(minOwn), budget - estimates.length));
  const rest = Math.max(estimates.length, budget - kept);
  const workersTotal = weights.slice(1).reduce((a, b) => a + b, 0);
  return { own: kept, workers: weights.slice(1).map((w) => Math.max(1, Math.floor((rest * w) / workersTotal))) };
}

/** How many workers, and their contiguous shard ranges, for the shards from `fromShard` on. */
export function planWorkers(fromShard: number, recipientsSoFar: number, threshold: number, maxWorkers: number): Array<{ from: number; to: number }> {
  const remainingShards = SHARDS - fromShard;
  if (remainingShards <= 0) return [];
  // The shards read so far tell how full a shard is (connections spread evenly over shards by their hash).
  const perShard = recipientsSoFar / Math.max(1, fromShard);
  const estimate = perShard * remainingShards;
  const workers = Math.max(1, Math.min(maxWorkers, remainingShards, Math.ceil(estimate / Math.max(1, threshold))));
  const ranges: Array<{ from: number; to: number }> = [];
  for (let i = 0; i < workers; i++) {
    const from = fromShard + Math.floor((i * remainingShards) / workers);
    const to = fromShard + Math.floor(((i + 1) * remainingShards) / workers) - 1;
    ranges.push({ from, to });
  }
  return ranges;
}

/** Attempts to start one worker (Lambda throttling an invoke is retried with backoff). */
const INVOKE_ATTEMPTS = 3;

/**
 * A {@link Handoff} that starts workers for the shards from the threshold on. `onDispatch` learns the outcome (the
 * ranges no worker took, and the rate share the broadcast itself should keep).
 */
export function workerHandoff(settings: DispatchSettings, broadcast: Broadcast, onDispatch: (outcome: DispatchOutcome) => void): Handoff {
  return {
    threshold: settings.threshold,
    async dispatch(fromShard: number, stats: FanoutStats): Promise<number> {
      const ranges = planWorkers(fromShard, stats.recipients, settings.threshold, settings.maxWorkers);
      // Members spread evenly over shards (by their hash): the shards read so far tell a range's size.
      const perShard = stats.recipients / Math.max(1, fromShard);
      const own = Math.max(0, stats.recipients - (stats.delivered + stats.gone + stats.failed));
      const now = settings.now ?? Date.now;
      const secondsLeft = settings.ownDeadlineMs === undefined ? Infinity : Math.max(0.5, (settings.ownDeadlineMs - now()) / 1000);
      const shares = rateShares(settings.rateBudget, own, ranges.map((r) => perShard * (r.to - r.from + 1)), own / secondsLeft);
      const broadcastId = randomUUID();
      const started = await Promise.all(ranges.map(async (range, i) => {
        const event: WorkerEvent = {
          broadcast_id: broadcastId,
          room_id: broadcast.roomId,
          shard_from: range.from,
          shard_to: range.to,
          frame: broadcast.frame,
          ...(broadcast.sender ? { sender: { connection_id: broadcast.sender.connectionId, frame: broadcast.sender.frame } } : {}),
          rate: shares.workers[i],
          now_seconds: broadcast.nowSeconds,
        };
        for (let attempt = 1; ; attempt++) {
          try {
            await settings.invoker.invokeAsync(settings.workerFunction, event);
            return true;
          } catch (err) {
            if (attempt >= INVOKE_ATTEMPTS) {
              settings.log({ level: 'error', event: 'dispatchWorker', roomId: broadcast.roomId, broadcastId, range, outcome: 'error', ...errorFields(err) });
              return false;
            }
            await sleep(backoffDelayMs(attempt, 100));
          }
        }
      }));
      const workers = started.filter(Boolean).length;
      const failedRanges = ranges.filter((_, i) => !started[i]);
      const broadcastRate = shares.own + shares.workers.reduce((sum, share, i) => sum + (started[i] ? 0 : share), 0);
      onDispatch({ workers, failedRanges, broadcastRate });
      // Some started: the rest of the room is theirs, and the broadcast takes the failed ranges afterwards.
      return workers;
    },
  };
}

/** Validates a worker event (a worker is invoked by the broadcast only, but a malformed event must fail loudly). */
export function parseWorkerEvent(event: unknown): WorkerEvent {
  const e = (event ?? {}) as Record<string, unknown>;
  const int = (name: string, min: number, max: number): number => {
    const value = e[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new Error(`worker event: ${name} must be an integer from ${min} to ${max}`);
    return value;
  };
  const str = (name: string): string => {
    const value = e[name];
    if (typeof value !== 'string' || value.length === 0) throw new Error(`worker event: ${name} must be a non-empty string`);
    return value;
  };
  const from = int('shard_from', 0, SHARDS - 1);
  const to = int('shard_to', from, SHARDS - 1);
  const sender = e.sender as { connection_id?: unknown; frame?: unknown } | undefined;
  if (sender !== undefined && (typeof sender.connection_id !== 'string' || typeof sender.frame !== 'string')) {
    throw new Error('worker event: sender must be {connection_id, frame}');
  }
  return {
    broadcast_id: str('broadcast_id'),
    room_id: str('room_id'),
    shard_from: from,
    shard_to: to,
    frame: str('frame'),
    ...(sender ? { sender: { connection_id: sender.connection_id as string, frame: sender.frame as string } } : {}),
    rate: int('rate', 1, 1_000_000),
    now_seconds: int('now_seconds', 0, Number.MAX_SAFE_INTEGER),
  };
}

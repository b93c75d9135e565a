import { fanOutRoom, type RoomFanoutStats } from './fanout';
import { postPolicyOf, type PostingDeps } from './posting-deps';
import { RateLimiter } from './rate-limiter';
import { workerHandoff, type DispatchOutcome } from './sharding';

/**
 * A broadcast to a room, shared by `sendMessage` and `publish` (one fan-out module, two callers): small rooms from
 * this invocation alone; past the threshold, the rest of the room to fan-out workers (when a worker function is
 * configured), with all of them sharing the rate budget. Shard ranges no worker could be started for are fanned out
 * here afterwards, as far as the deadline allows.
 */
export interface RoomBroadcast {
  readonly roomId: string;
  /** The frame every member gets. */
  readonly frame: Buffer;
  /** The sender's own copy (it echoes its `request_id`). */
  readonly sender?: { readonly connectionId: string; readonly frame: Buffer };
  readonly startedMs: number;
  /** `Limit` of each Query page (tests). */
  readonly pageSize?: number;
}

export async function broadcastToRoom(deps: PostingDeps, broadcast: RoomBroadcast, remainingTimeMs?: number): Promise<RoomFanoutStats> {
  const { config } = deps;
  const nowSeconds = Math.floor(broadcast.startedMs / 1000);
  const rate = new RateLimiter(config.fanoutRateBudget, deps.now);
  const policy = postPolicyOf(deps, remainingTimeMs);
  let dispatched: DispatchOutcome | undefined;
  const handoff = deps.invoker && config.fanoutWorkerFunction
    ? workerHandoff(
      {
        invoker: deps.invoker,
        workerFunction: config.fanoutWorkerFunction,
        threshold: config.shardThreshold,
        maxWorkers: config.maxFanoutWorkers,
        rateBudget: config.fanoutRateBudget,
        // Room for a time-out and a retry before this invocation's deadline.
        ownDeadlineMs: policy.deadlineMs === undefined ? undefined : policy.deadlineMs - 2 * config.postTimeoutMs,
        now: deps.now,
        log: deps.log,
      },
      {
        roomId: broadcast.roomId,
        frame: broadcast.frame.toString('utf8'),
        sender: broadcast.sender ? { connectionId: broadcast.sender.connectionId, frame: broadcast.sender.frame.toString('utf8') } : undefined,
        nowSeconds,
      },
      (outcome) => {
        dispatched = outcome;
        // Workers started: from now on this invocation keeps its share of the budget (its own shards, and the ranges
        // no worker took). None started: it goes on reading the rest of the room itself (see `Handoff.dispatch`), at
        // the whole budget.
        if (outcome.workers > 0) rate.setRate(outcome.broadcastRate);
      },
    )
    : undefined;
  const common = {
    ...policy,
    dynamo: deps.dynamo,
    management: deps.management,
    tableName: config.tableName,
    roomId: broadcast.roomId,
    data: broadcast.frame,
    sender: broadcast.sender ? { connectionId: broadcast.sender.connectionId, data: broadcast.sender.frame } : undefined,
    concurrency: config.fanoutConcurrency,
    pageSize: broadcast.pageSize,
    nowSeconds,
    rate,
    startedMs: broadcast.startedMs,
  };
  // With workers to hand over to, pages of about the threshold: the broadcast then reads little more than the shards it
  // keeps (a full 1 MB page holds ~6,000 members, most of which would be read only to be left to the workers).
  const stats = await fanOutRoom({ ...common, handoff, pageSize: common.pageSize ?? (handoff ? config.shardThreshold : undefined) });
  // Ranges no worker took, when some did: the room was read only up to the handoff. (When none did, the fan-out above
  // read and posted the whole room itself: fanning the ranges out again would post to their members twice.)
  const outcome = dispatched as DispatchOutcome | undefined;
  const leftOver = outcome && outcome.workers > 0 ? outcome.failedRanges : [];
  for (const range of leftOver) {
    if (stats.truncated) break;
    const rest = await fanOutRoom({ ...common, shards: range });
    for (const key of ['recipients', 'delivered', 'gone', 'failed', 'itemsRead', 'pages', 'retries', 'throttled'] as const) stats[key] += rest[key];
    stats.truncated ||= rest.truncated;
    stats.timeToLastPostMs = Math.max(stats.timeToLastPostMs, rest.timeToLastPostMs);
  }
  return stats;
}

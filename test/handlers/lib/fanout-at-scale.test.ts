import { itemsOfKey } from '../../../src/handlers/lib/connections-store';
import type { InvocationContext } from '../../../src/handlers/lib/events';
import { progressPartition, runFanoutWorker, type WorkerResult } from '../../../src/handlers/lib/fanout-worker';
import { encodeFrame, messageFrame } from '../../../src/handlers/lib/frames';
import type { AsyncInvoker } from '../../../src/handlers/lib/lambda-invoke';
import type { PostingDeps } from '../../../src/handlers/lib/posting-deps';
import { publish } from '../../../src/handlers/lib/publish';
import { broadcastToRoom } from '../../../src/handlers/lib/room-broadcast';
import type { WorkerEvent } from '../../../src/handlers/lib/sharding';
import { SHARDS, shardOf, TABLE } from '../../../src/shared/contract';
import { allConnectionIds, idRange, nowSeconds, seedConnections } from '../../support/connections-table';
import { startHandlerFixture, type FixtureDeps, type HandlerFixture } from '../../support/handler-fixture';
import { captureLog } from '../../support/log-capture';
import { recordFigures } from '../../support/reliability';

/**
 * A sharded broadcast at scale, end to end on one machine: dynalite, the real HTTP `@connections` stand-in, the
 * broadcast, and its fan-out workers run in-process by a stand-in for Lambda's asynchronous invoke (202 at once, the
 * worker later; a worker that throws is retried, twice, as Lambda does).
 */

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterEach(() => fx.server.reset());
afterAll(() => fx.close());

interface Attempt {
  readonly result?: WorkerResult;
  readonly error?: unknown;
  /** The broadcast's progress marks right after this attempt. */
  readonly marks: number[];
}

interface Run {
  readonly event: WorkerEvent;
  readonly attempts: Attempt[];
}

/** Lambda's asynchronous invoke, in-process: accepts at once, runs the worker later, retries a throwing worker twice. */
class InProcessLambda implements AsyncInvoker {
  readonly runs: Run[] = [];
  readonly refused: WorkerEvent[] = [];
  private readonly pending: Array<Promise<void>> = [];

  constructor(private readonly options: {
    readonly deps: (event: WorkerEvent, attempt: number) => PostingDeps;
    readonly context?: (event: WorkerEvent, attempt: number) => InvocationContext;
    /** Invokes refused (e.g. throttled) for these events. */
    readonly refuse?: (event: WorkerEvent) => boolean;
  }) {}

  async invokeAsync(_functionName: string, payload: unknown): Promise<void> {
    // What travels is JSON.
    const event = JSON.parse(JSON.stringify(payload)) as WorkerEvent;
    if (this.options.refuse?.(event)) {
      this.refused.push(event);
      throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
    }
    const run: Run = { event, attempts: [] };
    this.runs.push(run);
    this.pending.push(new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      for (let attempt = 1; attempt <= 3; attempt++) {
        const deps = this.options.deps(event, attempt);
        try {
          const result = await runFanoutWorker(event, deps, this.options.context?.(event, attempt));
          run.attempts.push({ result, marks: await marksOf(deps, event.broadcast_id) });
          return;
        } catch (error) {
          run.attempts.push({ error, marks: await marksOf(deps, event.broadcast_id) });
        }
      }
    }));
  }

  /** Waits for every worker (and its retries) to finish. */
  async settled(): Promise<void> {
    await Promise.all(this.pending);
  }
}

async function marksOf(deps: PostingDeps, broadcastId: string): Promise<number[]> {
  return (await itemsOfKey(deps.dynamo, deps.config.tableName, progressPartition(broadcastId)))
    .map((item) => Number(item[TABLE.sortKey].S!.replace('shard#', '')))
    .sort((a, b) => a - b);
}

function postCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of fx.server.received) counts.set(p.connectionId, (counts.get(p.connectionId) ?? 0) + 1);
  return counts;
}

const ENV = {
  SHARD_THRESHOLD: '300',
  MAX_FANOUT_WORKERS: '8',
  FANOUT_WORKER_FUNCTION: 'chat-FanoutWorker',
  FANOUT_RATE_BUDGET: '100000',
  FANOUT_CONCURRENCY: '25',
};

/** Worker dependencies: the broadcast's tables and endpoint, their own log. */
const workerDeps = (deps: FixtureDeps, overrides: Partial<PostingDeps> = {}): PostingDeps =>
  ({ ...deps, invoker: undefined, log: captureLog().log, ...overrides });

test('a publish to a room of 3,000 connections, sharded over workers: every live connection exactly once, 410 rows removed', async () => {
  let deps: FixtureDeps | undefined;
  const lambda = new InProcessLambda({ deps: () => workerDeps(deps!) });
  deps = await fx.deps(ENV, { invoker: lambda });
  const live = idRange('c', 3000);
  const gone = live.filter((_, i) => i % 20 === 7);
  const expired = idRange('expired', 100);
  const elsewhere = idRange('elsewhere', 100);
  const at = nowSeconds();
  await seedConnections(fx.dynamo.client, deps.config.tableName, [
    ...live.map((id) => ({ id, room: 'big' })),
    ...expired.map((id) => ({ id, room: 'big', ttl: at - 1 })),
    ...elsewhere.map((id) => ({ id, room: 'other' })),
  ]);
  for (const id of gone) fx.server.script(id, 410);

  const result = await publish({ room_id: 'big', type: 'scale.test', data: { n: 1 } }, deps, { getRemainingTimeInMillis: () => 29_000 });
  await lambda.settled();

  // Workers: started, each once, each successful, at a share of the budget in proportion to its range.
  expect(lambda.runs.length).toBeGreaterThanOrEqual(2);
  expect(lambda.runs.length).toBeLessThanOrEqual(8);
  for (const run of lambda.runs) {
    expect(run.attempts).toHaveLength(1);
    expect(run.attempts[0].error).toBeUndefined();
  }
  const shardsOf = (e: { shard_from: number; shard_to: number }): number => e.shard_to - e.shard_from + 1;
  const totalRate = lambda.runs.reduce((sum, r) => sum + r.event.rate, 0);
  expect(totalRate).toBeLessThanOrEqual(100_000);
  const perShard = totalRate / lambda.runs.reduce((sum, r) => sum + shardsOf(r.event), 0);
  for (const run of lambda.runs) expect(Math.abs(run.event.rate - perShard * shardsOf(run.event))).toBeLessThanOrEqual(1);
  const ranges = lambda.runs.map((r) => [r.event.shard_from, r.event.shard_to]).sort((a, b) => a[0] - b[0]);
  const handedOff = ranges[0][0];
  for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBe(ranges[i - 1][1] + 1);
  expect(ranges.at(-1)![1]).toBe(SHARDS - 1);

  // Every live connection exactly once; the expired and the other room's never.
  const counts = postCounts();
  expect([...counts.keys()].sort()).toEqual(live);
  expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  const frames = new Set(fx.server.received.map((p) => p.body));
  expect(frames.size).toBe(1);
  expect(JSON.parse([...frames][0])).toMatchObject({ action: 'event', type: 'scale.test', room_id: 'big', seq: 1, data: { n: 1 } });

  // The broadcast took the shards before the handoff; the workers the rest; together, everyone.
  const workers = lambda.runs.map((r) => r.attempts[0].result!);
  const own = live.filter((id) => shardOf(id) < handedOff);
  const ownGone = gone.filter((id) => shardOf(id) < handedOff);
  expect(own.length).toBeGreaterThanOrEqual(300);
  expect(result).toEqual({ delivered: own.length - ownGone.length, gone: ownGone.length, failed: 0, seq: 1 });
  expect(workers.reduce((n, w) => n + w.delivered, 0)).toBe(live.length - own.length - (gone.length - ownGone.length));
  expect(workers.reduce((n, w) => n + w.gone, 0)).toBe(gone.length - ownGone.length);
  expect(workers.every((w) => w.failed === 0 && w.skippedShards === 0)).toBe(true);

  // Exactly the 410 rows are gone.
  const remaining = new Set(await allConnectionIds(fx.dynamo.client, deps.config.tableName));
  for (const id of gone) expect(remaining.has(id)).toBe(false);
  for (const id of [...live.filter((c) => !gone.includes(c)), ...expired, ...elsewhere]) expect(remaining.has(id)).toBe(true);
});

test('a broadcast with a sender, small pages, a worker cut half-way and re-run, and a range no worker took', async () => {
  const members = idRange('m', 2000);
  // The sender is not in the room index yet, and its shard is the last one.
  let sender = '';
  for (let i = 0; shardOf(sender) !== SHARDS - 1 || sender === ''; i++) sender = `sender-${i}`;
  const FRAME = messageFrame({ messageId: 'mid', roomId: 'big', seq: 9, userId: 'alice', message: 'hello, many', timestamp: '2030-01-02T00:00:00.000Z' });
  const SENDER_FRAME = { ...FRAME, request_id: 'r-1' };

  let deps: FixtureDeps | undefined;
  // The first range's first attempt: its clock jumps a minute once half its members were posted to, so it runs out of
  // time part-way and throws (after marking the shards it finished).
  let cut: { from: number; to: number; after: number; posted: number; skew: number; retried: boolean } | undefined;
  const postedByFirstAttempt = new Set<string>();
  fx.server.onPost = (id) => {
    if (!cut || cut.retried || shardOf(id) < cut.from || shardOf(id) > cut.to) return;
    postedByFirstAttempt.add(id);
    if (++cut.posted >= cut.after) cut.skew = 60_000;
  };
  const lambda = new InProcessLambda({
    refuse: (event) => event.shard_to === SHARDS - 1,
    deps: (event, attempt) => {
      const first = Math.min(...lambda.runs.map((r) => r.event.shard_from));
      if (event.shard_from !== first) return workerDeps(deps!);
      if (attempt > 1) {
        cut!.retried = true;
        return workerDeps(deps!);
      }
      const size = members.filter((id) => shardOf(id) >= event.shard_from && shardOf(id) <= event.shard_to).length;
      cut = { from: event.shard_from, to: event.shard_to, after: Math.floor(size / 2), posted: 0, skew: 0, retried: false };
      const c = cut;
      return workerDeps(deps!, { now: () => Date.now() + c.skew });
    },
    context: () => ({ getRemainingTimeInMillis: () => 20_000 }),
  });
  deps = await fx.deps(ENV, { invoker: lambda });
  await seedConnections(fx.dynamo.client, deps.config.tableName, members.map((id) => ({ id, room: 'big' })));

  const stats = await broadcastToRoom(deps, {
    roomId: 'big',
    frame: encodeFrame(FRAME),
    sender: { connectionId: sender, frame: encodeFrame(SENDER_FRAME) },
    startedMs: Date.now(),
    pageSize: 40,
  }, 29_000);
  await lambda.settled();

  expect(stats.pages).toBeGreaterThan(300 / 40);
  expect(lambda.refused).toHaveLength(3); // three attempts to start the last range's worker
  const failedRange = { from: lambda.refused[0].shard_from, to: lambda.refused[0].shard_to };

  // The cut worker: two attempts; the second skipped exactly the shards the first had marked.
  const cutRun = lambda.runs.find((r) => r.event.shard_from === cut!.from)!;
  expect(cutRun.attempts).toHaveLength(2);
  expect(String(cutRun.attempts[0].error)).toMatch(/ran out of time/);
  // (The marks are the whole broadcast's: other workers mark their own shards too.)
  const inCut = (shard: number) => shard >= cut!.from && shard <= cut!.to;
  const markedFirst = cutRun.attempts[0].marks.filter(inCut);
  expect(markedFirst.length).toBeGreaterThan(0);
  expect(cutRun.attempts[1].result!.skippedShards).toBe(markedFirst.length);
  const cutShards = [...new Set(members.map(shardOf).filter(inCut))].sort((a, b) => a - b);
  expect(cutRun.attempts[1].marks.filter(inCut)).toEqual(cutShards);
  for (const run of lambda.runs.filter((r) => r !== cutRun)) expect(run.attempts.map((a) => a.error)).toEqual([undefined]);

  // Everyone reached; exactly once, except members of the shard(s) the cut attempt had started but not finished
  // (at least once: delivery is at-least-once). No shard the first attempt finished was posted twice.
  const counts = postCounts();
  const everyone = [...members, sender].sort();
  expect([...counts.keys()].sort()).toEqual(everyone);
  const twice = [...counts.entries()].filter(([, n]) => n !== 1).map(([id]) => id);
  expect(postedByFirstAttempt.size).toBeGreaterThanOrEqual(cut!.after);
  for (const id of twice) {
    expect(postedByFirstAttempt.has(id)).toBe(true);
    expect(markedFirst).not.toContain(shardOf(id));
    expect(counts.get(id)).toBe(2);
  }
  for (const id of postedByFirstAttempt) if (markedFirst.includes(shardOf(id))) expect(counts.get(id)).toBe(1);

  // The range no worker took was fanned out by the broadcast itself, the sender (in it) with its own copy, once.
  for (const id of members.filter((m) => shardOf(m) >= failedRange.from)) expect(counts.get(id)).toBe(1);
  expect(fx.server.postsTo(sender).map((p) => JSON.parse(p.body))).toEqual([SENDER_FRAME]);
  const others = fx.server.received.filter((p) => p.connectionId !== sender);
  expect(others.every((p) => JSON.parse(p.body).request_id === undefined)).toBe(true);
  recordFigures('worker-crash', {
    connections: everyone.length,
    workers: lambda.runs.length,
    workerAttempts: lambda.runs.reduce((n, r) => n + r.attempts.length, 0),
    shardsSkippedByTheRetry: cutRun.attempts[1].result!.skippedShards,
    reached: counts.size,
    postedTwice: twice.length,
    rangesNoWorkerTook: 1,
    broadcastPages: stats.pages,
  });
});

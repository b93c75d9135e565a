import { encodeFrame, messageFrame } from '../../../src/handlers/lib/frames';
import type { AsyncInvoker } from '../../../src/handlers/lib/lambda-invoke';
import { broadcastToRoom } from '../../../src/handlers/lib/room-broadcast';
import type { WorkerEvent } from '../../../src/handlers/lib/sharding';
import { SHARDS, shardOf } from '../../../src/shared/contract';
import { idRange, roomsOf, type SeedRow } from '../../support/connections-table';
import { startHandlerFixture, type FixtureDeps, type HandlerFixture } from '../../support/handler-fixture';
import { captureLog } from '../../support/log-capture';

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterEach(() => fx.server.reset());
afterAll(() => fx.close());

const NOW = Date.parse('2030-01-02T03:04:05.678Z');
const NOW_S = Math.floor(NOW / 1000);

const FRAME = messageFrame({ messageId: 'm-1', roomId: 'r', seq: 7, userId: 'alice', message: 'hello all', timestamp: new Date(NOW).toISOString() });
const SENDER_FRAME = { ...FRAME, request_id: 'mine' };

async function setup(rows: SeedRow[], env: Record<string, string> = {}, invoker?: AsyncInvoker): Promise<FixtureDeps> {
  const deps = await fx.deps(env, { invoker });
  await fx.seed(deps, rows, NOW);
  return deps;
}

const broadcast = (deps: FixtureDeps, sender?: string, options: { pageSize?: number; remainingMs?: number } = {}) =>
  broadcastToRoom(deps, {
    roomId: 'r',
    frame: encodeFrame(FRAME),
    ...(sender ? { sender: { connectionId: sender, frame: encodeFrame(SENDER_FRAME) } } : {}),
    startedMs: NOW,
    pageSize: options.pageSize,
  }, options.remainingMs);

/** Workers' rates: within the budget, at least 1, in proportion to the shards of each range (to rounding). */
function expectProportionalRates(events: readonly WorkerEvent[], budget: number): void {
  const shards = (e: WorkerEvent): number => e.shard_to - e.shard_from + 1;
  const total = events.reduce((sum, e) => sum + e.rate, 0);
  expect(total).toBeLessThanOrEqual(budget);
  const perShard = total / events.reduce((sum, e) => sum + shards(e), 0);
  for (const e of events) {
    expect(e.rate).toBeGreaterThanOrEqual(1);
    expect(Math.abs(e.rate - perShard * shards(e))).toBeLessThanOrEqual(1);
  }
}

/** An id whose shard is `shard`. */
function idInShard(shard: number, prefix = 'sender'): string {
  for (let i = 0; ; i++) if (shardOf(`${prefix}-${i}`) === shard) return `${prefix}-${i}`;
}

/** Posts received per connection id. */
function postCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of fx.server.received) counts.set(p.connectionId, (counts.get(p.connectionId) ?? 0) + 1);
  return counts;
}

/** An invoker that records the worker events (and runs nothing); `fail` refuses some. */
function recordingInvoker(fail: (event: WorkerEvent) => boolean = () => false): AsyncInvoker & { events: WorkerEvent[]; names: string[] } {
  const events: WorkerEvent[] = [];
  const names: string[] = [];
  return {
    events,
    names,
    async invokeAsync(name, payload) {
      const event = JSON.parse(JSON.stringify(payload)) as WorkerEvent;
      names.push(name);
      if (fail(event)) throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
      events.push(event);
    },
  };
}

describe('a room below the threshold', () => {
  test('every member gets the frame once; the sender gets its own copy (with its request_id); other rooms nothing', async () => {
    const deps = await setup([
      { id: 'alice-1', room: 'r' },
      ...idRange('m', 30).map((id) => ({ id, room: 'r' })),
      { id: 'elsewhere', room: 'other' },
    ]);
    const stats = await broadcast(deps, 'alice-1');
    expect(stats).toMatchObject({ recipients: 31, delivered: 31, gone: 0, failed: 0, workers: 0, truncated: false });
    expect(fx.server.deliveredTo('alice-1')).toEqual([SENDER_FRAME]);
    for (const id of idRange('m', 30)) expect(fx.server.deliveredTo(id)).toEqual([FRAME]);
    expect(fx.server.postsTo('elsewhere')).toEqual([]);
  });

  test('a sender the room index does not list yet still gets its copy, once', async () => {
    const deps = await setup(idRange('m', 5).map((id) => ({ id, room: 'r' })));
    const stats = await broadcast(deps, 'new-sender');
    expect(fx.server.deliveredTo('new-sender')).toEqual([SENDER_FRAME]);
    expect(stats).toMatchObject({ recipients: 6, delivered: 6 });
  });

  test('without a sender (a publish): every member the same frame', async () => {
    const deps = await setup(idRange('m', 5).map((id) => ({ id, room: 'r' })));
    await broadcast(deps);
    expect(fx.server.received.map((p) => JSON.parse(p.body))).toEqual(Array(5).fill(FRAME));
  });

  test('many pages (pageSize)', async () => {
    const deps = await setup(idRange('m', 120).map((id) => ({ id, room: 'r' })));
    const stats = await broadcast(deps, 'm-0007', { pageSize: 7 });
    expect(stats.pages).toBeGreaterThanOrEqual(Math.ceil(120 / 7));
    expect([...postCounts().values()].every((n) => n === 1)).toBe(true);
    expect(postCounts().size).toBe(120);
    expect(fx.server.deliveredTo('m-0007')).toEqual([SENDER_FRAME]);
  });

  test('no worker function configured, or no invoker: no handoff, whatever the size', async () => {
    const invoker = recordingInvoker();
    const rows = idRange('m', 100).map((id) => ({ id, room: 'r' }));
    for (const [env, inv] of [[{ SHARD_THRESHOLD: '10' }, invoker], [{ SHARD_THRESHOLD: '10', FANOUT_WORKER_FUNCTION: 'worker' }, undefined]] as const) {
      fx.server.reset();
      const deps = await setup(rows, env, inv);
      const stats = await broadcast(deps);
      expect(stats).toMatchObject({ recipients: 100, delivered: 100, workers: 0 });
    }
    expect(invoker.names).toEqual([]);
  });
});

describe('a room past the threshold hands the rest to workers', () => {
  const MEMBERS = idRange('m', 640);
  const env = { SHARD_THRESHOLD: '50', MAX_FANOUT_WORKERS: '4', FANOUT_RATE_BUDGET: '1000', FANOUT_WORKER_FUNCTION: 'chat-FanoutWorker' };
  // One seeded room, shared by the tests that do not change it (each with its own invoker and log).
  let room: FixtureDeps;
  beforeAll(async () => {
    room = await setup(MEMBERS.map((id) => ({ id, room: 'r' })), env);
  });
  const large = (invoker: AsyncInvoker): FixtureDeps => {
    const logs = captureLog();
    return { ...room, invoker, log: logs.log, logs };
  };

  /** The first shard past the threshold: the broadcast reads whole shards until it has posted to `threshold` members. */
  function expectedHandoff(ids: string[], threshold: number): number {
    const perShard = Array.from({ length: SHARDS }, (_, s) => ids.filter((id) => shardOf(id) === s).length);
    let read = 0;
    let last = -1;
    for (let s = 0; s < SHARDS; s++) {
      if (perShard[s] === 0) continue;
      if (last >= 0 && read >= threshold) return s;
      read += perShard[s];
      last = s;
    }
    return SHARDS;
  }

  test('the broadcast posts the shards it read; the workers get contiguous ranges covering the rest exactly once, at a share of the budget', async () => {
    const invoker = recordingInvoker();
    const deps = large(invoker);

    const stats = await broadcast(deps, undefined, { pageSize: 25 });

    const from = expectedHandoff(MEMBERS, 50);
    expect(stats.handedOffFrom).toBe(from);
    const mine = MEMBERS.filter((id) => shardOf(id) < from);
    expect(mine.length).toBeGreaterThanOrEqual(50);
    expect(stats).toMatchObject({ recipients: mine.length, delivered: mine.length, workers: invoker.events.length, truncated: false });
    // Posted exactly once each, and nobody of the handed-off shards.
    expect([...postCounts().keys()].sort()).toEqual(mine);
    expect([...postCounts().values()].every((n) => n === 1)).toBe(true);

    expect(invoker.events.length).toBeGreaterThanOrEqual(1);
    expect(invoker.events.length).toBeLessThanOrEqual(4);
    expect(invoker.names.every((n) => n === 'chat-FanoutWorker')).toBe(true);
    const ranges = invoker.events.map((e) => [e.shard_from, e.shard_to]).sort((a, b) => a[0] - b[0]);
    let next = from;
    for (const [a, b] of ranges) {
      expect(a).toBe(next);
      expect(b).toBeGreaterThanOrEqual(a);
      next = b + 1;
    }
    expect(next).toBe(SHARDS);
    for (const event of invoker.events) {
      expect(event).toEqual({
        broadcast_id: invoker.events[0].broadcast_id,
        room_id: 'r',
        shard_from: expect.any(Number),
        shard_to: expect.any(Number),
        frame: JSON.stringify(FRAME),
        rate: expect.any(Number),
        now_seconds: NOW_S,
      });
    }
    expectProportionalRates(invoker.events, 1000);
  });

  test('the workers are started once the room is read past the threshold, without waiting for the posts to it', async () => {
    // Every post is held unanswered (10 in flight, the gate opens at 11): a broadcast that waited for its posts
    // before handing over would never get to the workers.
    fx.server.holdInBatchesOf(11);
    let atDispatch: { received: number } | undefined;
    const invoker: AsyncInvoker = {
      async invokeAsync() {
        if (!atDispatch) {
          atDispatch = { received: fx.server.received.length };
          fx.server.reset(); // answers the held posts
        }
      },
    };
    const deps = large(invoker);
    const stats = await broadcast({ ...deps, config: { ...deps.config, fanoutConcurrency: 10 } }, undefined, { pageSize: 25 });
    expect(atDispatch).toEqual({ received: 10 });
    expect(stats.handedOffFrom).toBe(expectedHandoff(MEMBERS, 50));
    expect(stats.workers).toBeGreaterThan(0);
  });

  test('the sender\'s copy travels with the workers when its shard is theirs', async () => {
    const invoker = recordingInvoker();
    const sender = idInShard(63);
    const deps = large(invoker);
    await broadcast(deps, sender);
    // Not posted by the broadcast (its shard was handed off), even though the index does not list it.
    expect(fx.server.postsTo(sender)).toEqual([]);
    for (const event of invoker.events) expect(event.sender).toEqual({ connection_id: sender, frame: JSON.stringify(SENDER_FRAME) });
  });

  test('a sender of a shard the broadcast read, not in the index, gets its copy from the broadcast', async () => {
    const invoker = recordingInvoker();
    const sender = idInShard(0);
    const deps = large(invoker);
    await broadcast(deps, sender);
    expect(fx.server.deliveredTo(sender)).toEqual([SENDER_FRAME]);
  });

  test('ranges no worker could be started for are fanned out by the broadcast itself, once', async () => {
    // The last range's worker cannot be started (three attempts).
    const invoker = recordingInvoker((event) => event.shard_to === SHARDS - 1);
    const deps = large(invoker);

    const stats = await broadcast(deps);

    const from = expectedHandoff(MEMBERS, 50);
    const failed = invoker.names.length - invoker.events.length;
    expect(failed).toBe(3);
    const failedFrom = Math.max(...invoker.events.map((e) => e.shard_to)) + 1;
    const expected = MEMBERS.filter((id) => shardOf(id) < from || shardOf(id) >= failedFrom).sort();
    expect([...postCounts().keys()].sort()).toEqual(expected);
    expect([...postCounts().values()].every((n) => n === 1)).toBe(true);
    expect(stats).toMatchObject({ recipients: expected.length, delivered: expected.length, workers: invoker.events.length });
    expect(deps.logs.records).toEqual([expect.objectContaining({ level: 'error', event: 'dispatchWorker', range: { from: failedFrom, to: 63 } })]);
  });

  test('a sender not in the index, in a range no worker took, gets its copy from the broadcast, once', async () => {
    const sender = idInShard(63);
    const invoker = recordingInvoker((event) => event.shard_to === SHARDS - 1);
    await broadcast(large(invoker), sender);
    expect(fx.server.deliveredTo(sender)).toEqual([SENDER_FRAME]);
    // The started workers carry it too, but only the one whose range holds its shard would post it.
    expect(invoker.events.every((e) => e.shard_to < shardOf(sender))).toBe(true);
  });

  test('no worker could be started at all: the broadcast reaches every member itself, each exactly once', async () => {
    const invoker = recordingInvoker(() => true);
    const deps = large(invoker);

    const stats = await broadcast(deps, 'm-0000');

    expect(invoker.events).toEqual([]);
    expect(invoker.names.length).toBeGreaterThan(0);
    expect(postCounts().size).toBe(MEMBERS.length);
    expect([...postCounts().entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(stats).toMatchObject({ recipients: MEMBERS.length, delivered: MEMBERS.length, workers: 0 });
    expect(fx.server.deliveredTo('m-0000')).toEqual([SENDER_FRAME]);
  });

  test('gone members of the broadcast\'s own shards are removed', async () => {
    const invoker = recordingInvoker();
    const gone = MEMBERS.filter((id) => shardOf(id) === 0).slice(0, 2);
    for (const id of gone) fx.server.script(id, 410);
    const deps = await setup(MEMBERS.map((id) => ({ id, room: 'r' })), env, invoker);
    const stats = await broadcast(deps);
    expect(stats.gone).toBe(2);
    for (const id of gone) expect(await roomsOf(fx.dynamo.client, deps.config.tableName, id)).toEqual([]);
  });
});

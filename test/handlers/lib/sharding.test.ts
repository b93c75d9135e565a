import { emptyStats } from '../../../src/handlers/lib/fanout';
import type { AsyncInvoker } from '../../../src/handlers/lib/lambda-invoke';
import { parseWorkerEvent, planWorkers, rateShares, workerHandoff, type DispatchOutcome, type WorkerEvent } from '../../../src/handlers/lib/sharding';
import { SHARDS } from '../../../src/shared/contract';
import { captureLog } from '../../support/log-capture';

/** Every range contiguous, in order, covering `from`..63 exactly once. */
function expectCover(ranges: Array<{ from: number; to: number }>, from: number): void {
  let next = from;
  for (const range of ranges) {
    expect(range.from).toBe(next);
    expect(range.to).toBeGreaterThanOrEqual(range.from);
    next = range.to + 1;
  }
  expect(next).toBe(SHARDS);
}

describe('planWorkers', () => {
  test('workers for the estimated rest of the room, in contiguous shard ranges', () => {
    // 2,000 recipients in 8 shards: 250 a shard, 56 shards left ≈ 14,000 more ⇒ 7 workers of ~2,000.
    const ranges = planWorkers(8, 2000, 2000, 16);
    expect(ranges).toEqual([
      { from: 8, to: 15 },
      { from: 16, to: 23 },
      { from: 24, to: 31 },
      { from: 32, to: 39 },
      { from: 40, to: 47 },
      { from: 48, to: 55 },
      { from: 56, to: 63 },
    ]);
  });

  test('at most maxWorkers', () => {
    const ranges = planWorkers(1, 10_000, 100, 16);
    expect(ranges).toHaveLength(16);
    expectCover(ranges, 1);
  });

  test('at most one worker a shard', () => {
    const ranges = planWorkers(60, 60_000, 1, 16);
    expect(ranges).toEqual([{ from: 60, to: 60 }, { from: 61, to: 61 }, { from: 62, to: 62 }, { from: 63, to: 63 }]);
  });

  test('at least one worker when any shard is left', () => {
    expect(planWorkers(63, 1, 1_000_000, 16)).toEqual([{ from: 63, to: 63 }]);
    expect(planWorkers(1, 0, 100, 16)).toEqual([{ from: 1, to: 63 }]);
  });

  test('none when no shard is left', () => {
    expect(planWorkers(SHARDS, 5000, 100, 16)).toEqual([]);
  });

  test('for any input: contiguous ranges covering every remaining shard exactly once', () => {
    const wrong: unknown[] = [];
    for (let from = 1; from < SHARDS; from += 3) {
      for (const recipients of [0, 1, 150, 2000, 99_999]) {
        for (const threshold of [1, 50, 2000]) {
          for (const maxWorkers of [1, 3, 16, 100]) {
            const ranges = planWorkers(from, recipients, threshold, maxWorkers);
            let next = from;
            const contiguous = ranges.every((r) => r.from === next && r.to >= r.from && (next = r.to + 1) > 0);
            const count = ranges.length >= 1 && ranges.length <= Math.min(maxWorkers, SHARDS - from);
            if (!contiguous || next !== SHARDS || !count) wrong.push({ from, recipients, threshold, maxWorkers, ranges });
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('parseWorkerEvent', () => {
  const valid: WorkerEvent = {
    broadcast_id: 'b-1',
    room_id: 'r',
    shard_from: 3,
    shard_to: 9,
    frame: '{"action":"message"}',
    sender: { connection_id: 'c-1', frame: '{"action":"message","request_id":"x"}' },
    rate: 500,
    now_seconds: 1_900_000_000,
  };

  test('a valid event, with and without a sender', () => {
    expect(parseWorkerEvent(valid)).toEqual(valid);
    const { sender: _sender, ...noSender } = valid;
    expect(parseWorkerEvent(noSender)).toEqual(noSender);
    expect(parseWorkerEvent({ ...valid, shard_from: 0, shard_to: 63 })).toMatchObject({ shard_from: 0, shard_to: 63 });
    expect(parseWorkerEvent({ ...valid, shard_from: 7, shard_to: 7 })).toMatchObject({ shard_from: 7, shard_to: 7 });
  });

  test('unknown fields are dropped', () => {
    expect(parseWorkerEvent({ ...valid, extra: 'x' })).toEqual(valid);
  });

  test.each<[string, unknown, RegExp]>([
    ['no event', undefined, /broadcast_id|shard_from/],
    ['null', null, /shard_from/],
    ['a string', 'hello', /shard_from/],
    ['a negative shard_from', { ...valid, shard_from: -1 }, /shard_from/],
    ['shard_from 64', { ...valid, shard_from: 64, shard_to: 64 }, /shard_from/],
    ['a fractional shard_from', { ...valid, shard_from: 1.5 }, /shard_from/],
    ['a string shard_from', { ...valid, shard_from: '3' }, /shard_from/],
    ['shard_to before shard_from', { ...valid, shard_from: 9, shard_to: 3 }, /shard_to/],
    ['shard_to 64', { ...valid, shard_to: 64 }, /shard_to/],
    ['no broadcast_id', { ...valid, broadcast_id: undefined }, /broadcast_id/],
    ['an empty room_id', { ...valid, room_id: '' }, /room_id/],
    ['an empty frame', { ...valid, frame: '' }, /frame/],
    ['a frame object', { ...valid, frame: { action: 'message' } }, /frame/],
    ['rate 0', { ...valid, rate: 0 }, /rate/],
    ['a fractional rate', { ...valid, rate: 2.5 }, /rate/],
    ['a negative now_seconds', { ...valid, now_seconds: -1 }, /now_seconds/],
    ['a sender without a frame', { ...valid, sender: { connection_id: 'c' } }, /sender/],
    ['a sender with a numeric id', { ...valid, sender: { connection_id: 1, frame: 'x' } }, /sender/],
  ])('%s throws, naming the field', (_what, event, field) => {
    expect(() => parseWorkerEvent(event)).toThrow(field);
  });
});

describe('workerHandoff', () => {
  interface Call { readonly name: string; readonly event: WorkerEvent }

  function recordingInvoker(fail: (event: WorkerEvent, attempt: number) => boolean = () => false): AsyncInvoker & { calls: Call[] } {
    const calls: Call[] = [];
    return {
      calls,
      async invokeAsync(name, payload) {
        const event = payload as WorkerEvent;
        calls.push({ name, event });
        const attempt = calls.filter((c) => c.event.shard_from === event.shard_from).length;
        if (fail(event, attempt)) throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
      },
    };
  }

  const broadcast = { roomId: 'big', frame: '{"action":"message","seq":7}', sender: { connectionId: 'me', frame: '{"action":"message","seq":7,"request_id":"q"}' }, nowSeconds: 1_900_000_000 };

  function handoff(invoker: AsyncInvoker, settings: Partial<{ threshold: number; maxWorkers: number; rateBudget: number }> = {}) {
    const logs = captureLog();
    const outcomes: DispatchOutcome[] = [];
    const h = workerHandoff(
      { invoker, workerFunction: 'arn:aws:lambda:us-east-1:123456789012:function:worker', threshold: 500, maxWorkers: 16, rateBudget: 8000, log: logs.log, ...settings },
      broadcast,
      (outcome) => outcomes.push(outcome),
    );
    return { h, logs, outcomes };
  }

  const stats = (recipients: number) => ({ ...emptyStats(), recipients });

  test('starts one worker per planned range with the broadcast, its range and a share of the rate budget in proportion to it', async () => {
    const invoker = recordingInvoker();
    const { h, outcomes } = handoff(invoker);
    expect(h.threshold).toBe(500);

    const workers = await h.dispatch(10, stats(1000));

    const planned = planWorkers(10, 1000, 500, 16);
    expect(workers).toBe(planned.length);
    expect(invoker.calls).toHaveLength(planned.length);
    // 1,000 members in the 10 shards read: 100 a shard; the broadcast has posted to none of its 1,000 yet.
    const shares = rateShares(8000, 1000, planned.map((r) => 100 * (r.to - r.from + 1)));
    const [first] = invoker.calls;
    for (const [i, call] of invoker.calls.entries()) {
      expect(call.name).toBe('arn:aws:lambda:us-east-1:123456789012:function:worker');
      expect(call.event).toEqual({
        broadcast_id: first.event.broadcast_id,
        room_id: 'big',
        shard_from: planned[i].from,
        shard_to: planned[i].to,
        frame: broadcast.frame,
        sender: { connection_id: 'me', frame: broadcast.sender.frame },
        rate: shares.workers[i],
        now_seconds: broadcast.nowSeconds,
      });
      // What a worker receives is what it accepts.
      expect(parseWorkerEvent(JSON.parse(JSON.stringify(call.event)))).toEqual(call.event);
    }
    expect(first.event.broadcast_id).toMatch(/^[0-9a-f-]{36}$/);
    expectCover(invoker.calls.map((c) => ({ from: c.event.shard_from, to: c.event.shard_to })), 10);
    expect(outcomes).toEqual([{ workers: planned.length, failedRanges: [], broadcastRate: shares.own }]);
  });

  test('rate shares: in proportion to the work, at least 1 each, within the budget', () => {
    expect(rateShares(8000, 3000, [6000, 6000, 3000])).toEqual({ own: 1333, workers: [2666, 2666, 1333] });
    // The broadcast with little left of its own, as when it hands over after posting its shards.
    expect(rateShares(8000, 0, [5000, 5000])).toEqual({ own: 1, workers: [3999, 3999] });
    expect(rateShares(3, 100, [100, 100, 100, 100])).toEqual({ own: 1, workers: [1, 1, 1, 1] });
    const shares = rateShares(10_000, 2185, Array(16).fill(6113));
    expect(shares.own + shares.workers.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(10_000);
    expect(shares.own + shares.workers.reduce((a, b) => a + b, 0)).toBeGreaterThan(10_000 - 17);
    // The broadcast must finish its part first (its deadline is the earlier one): the workers share what is left.
    expect(rateShares(3000, 3000, [48_500, 48_500], 150)).toEqual({ own: 150, workers: [1425, 1425] });
    expect(rateShares(3000, 3000, [48_500, 48_500], 10)).toEqual({ own: 90, workers: [1455, 1455] });
  });

  test('the broadcast keeps the share it needs to post to its members before its own deadline', async () => {
    const invoker = recordingInvoker();
    const logs = captureLog();
    const outcomes: DispatchOutcome[] = [];
    // 2,000 members of its own in the 4 shards read, ~30,000 for the workers (a proportional share would be 62/s); 20 s
    // left: at least 100 posts/s of a budget of 1,000.
    const h = workerHandoff(
      { invoker, workerFunction: 'w', threshold: 500, maxWorkers: 4, rateBudget: 1000, ownDeadlineMs: 1_000_000 + 20_000, now: () => 1_000_000, log: logs.log },
      broadcast,
      (outcome) => outcomes.push(outcome),
    );
    await h.dispatch(4, stats(2000));
    expect(outcomes[0].broadcastRate).toBe(100);
    const total = outcomes[0].broadcastRate + invoker.calls.reduce((sum, c) => sum + c.event.rate, 0);
    expect(total).toBeLessThanOrEqual(1000);
  });

  test('each dispatch is a new broadcast id', async () => {
    const invoker = recordingInvoker();
    const { h } = handoff(invoker, { maxWorkers: 1 });
    await h.dispatch(10, stats(1000));
    await h.dispatch(10, stats(1000));
    expect(invoker.calls[0].event.broadcast_id).not.toBe(invoker.calls[1].event.broadcast_id);
  });

  test('without a sender, the event carries none', async () => {
    const invoker = recordingInvoker();
    const logs = captureLog();
    const h = workerHandoff({ invoker, workerFunction: 'w', threshold: 1, maxWorkers: 2, rateBudget: 100, log: logs.log }, { ...broadcast, sender: undefined }, () => undefined);
    await h.dispatch(5, stats(5));
    expect(invoker.calls.every((c) => !('sender' in c.event))).toBe(true);
  });

  test('the rate share is at least 1', async () => {
    const invoker = recordingInvoker();
    const { h, outcomes } = handoff(invoker, { rateBudget: 3, maxWorkers: 16, threshold: 1 });
    await h.dispatch(1, stats(100));
    expect(outcomes[0].broadcastRate).toBe(1);
    expect(invoker.calls.every((c) => c.event.rate === 1)).toBe(true);
  });

  test('a throttled invoke is retried (up to 3 attempts)', async () => {
    const invoker = recordingInvoker((_event, attempt) => attempt < 3);
    const { h, outcomes, logs } = handoff(invoker, { maxWorkers: 2 });
    expect(await h.dispatch(32, stats(10_000))).toBe(2);
    expect(invoker.calls).toHaveLength(6);
    expect(outcomes[0].failedRanges).toEqual([]);
    expect(logs.records).toEqual([]);
  });

  test('a range no worker could be started for is reported (and logged); the others started', async () => {
    const invoker = recordingInvoker((event) => event.shard_from === 48);
    const { h, outcomes, logs } = handoff(invoker, { maxWorkers: 2 });
    expect(await h.dispatch(32, stats(10_000))).toBe(1);
    expect(invoker.calls.filter((c) => c.event.shard_from === 48)).toHaveLength(3);
    // The broadcast takes the range no worker took, and its share: 10,000 of its own, 5,000 in each range.
    const shares = rateShares(8000, 10_000, [5000, 5000]);
    expect(outcomes).toEqual([{ workers: 1, failedRanges: [{ from: 48, to: 63 }], broadcastRate: shares.own + shares.workers[1] }]);
    expect(logs.records).toEqual([expect.objectContaining({ level: 'error', event: 'dispatchWorker', roomId: 'big', range: { from: 48, to: 63 }, errorName: 'TooManyRequestsException' })]);
  });

  test('no worker at all: 0, every range reported failed', async () => {
    const invoker = recordingInvoker(() => true);
    const { h, outcomes } = handoff(invoker, { maxWorkers: 3 });
    expect(await h.dispatch(16, stats(10_000))).toBe(0);
    expect(outcomes[0].workers).toBe(0);
    expectCover(outcomes[0].failedRanges, 16);
  });
});

import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { itemsOfKey } from '../../../src/handlers/lib/connections-store';
import { progressPartition, runFanoutWorker } from '../../../src/handlers/lib/fanout-worker';
import type { WorkerEvent } from '../../../src/handlers/lib/sharding';
import { SHARDS, shardOf, TABLE } from '../../../src/shared/contract';
import { idRange, nowSeconds, roomsOf, seedConnections } from '../../support/connections-table';
import { LOCAL_CREDENTIALS } from '../../support/dynalite';
import { startHandlerFixture, type FixtureDeps, type HandlerFixture } from '../../support/handler-fixture';

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterEach(() => fx.server.reset());
afterAll(() => fx.close());

const MEMBERS = idRange('m', 640);
const FRAME = JSON.stringify({ action: 'message', message_id: 'x', room_id: 'big', seq: 3, user_id: 'u', message: 'to all', timestamp: '2030-01-01T00:00:00.000Z' });
const SENDER_FRAME = JSON.stringify({ ...JSON.parse(FRAME), request_id: 'mine' });

const inShards = (ids: string[], from: number, to: number) => ids.filter((id) => shardOf(id) >= from && shardOf(id) <= to).sort();
const shardsWithMembers = (ids: string[], from: number, to: number) => [...new Set(inShards(ids, from, to).map(shardOf))].sort((a, b) => a - b);

/** One seeded room for the tests that do not change it. */
let room: FixtureDeps;
beforeAll(async () => {
  room = await fx.deps({ FANOUT_CONCURRENCY: '8' });
  await seedConnections(fx.dynamo.client, room.config.tableName, MEMBERS.map((id) => ({ id, room: 'big' })));
});

let broadcastCounter = 0;
function event(overrides: Partial<WorkerEvent> = {}): WorkerEvent {
  return {
    broadcast_id: `b-${++broadcastCounter}`,
    room_id: 'big',
    shard_from: 10,
    shard_to: 20,
    frame: FRAME,
    rate: 100_000,
    now_seconds: nowSeconds(),
    ...overrides,
  };
}

async function marks(deps: FixtureDeps, broadcastId: string): Promise<number[]> {
  return (await itemsOfKey(fx.dynamo.client, deps.config.tableName, progressPartition(broadcastId)))
    .map((item) => Number(item[TABLE.sortKey].S!.replace('shard#', '')))
    .sort((a, b) => a - b);
}

function postCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of fx.server.received) counts.set(p.connectionId, (counts.get(p.connectionId) ?? 0) + 1);
  return counts;
}

describe('a malformed event throws before anything is read or posted', () => {
  test.each<[string, unknown]>([
    ['no event', undefined],
    ['a shard range past the end', { ...event(), shard_to: SHARDS }],
    ['a reversed range', { ...event(), shard_from: 20, shard_to: 10 }],
    ['no frame', { ...event(), frame: undefined }],
    ['rate 0', { ...event(), rate: 0 }],
  ])('%s', async (_what, input) => {
    await expect(runFanoutWorker(input, room)).rejects.toThrow(/worker event/);
    expect(fx.server.received).toEqual([]);
  });
});

test('posts the frame to every live member of its shard range (shard BETWEEN from AND to) and nobody else, once each', async () => {
  const e = event({ shard_from: 10, shard_to: 20 });
  const result = await runFanoutWorker(e, room, { awsRequestId: 'w-1' });
  const expected = inShards(MEMBERS, 10, 20);
  expect(expected.length).toBeGreaterThan(50);
  expect([...postCounts().keys()].sort()).toEqual(expected);
  expect([...postCounts().values()].every((n) => n === 1)).toBe(true);
  expect(fx.server.received.every((p) => p.body === FRAME)).toBe(true);
  expect(result).toEqual({ delivered: expected.length, gone: 0, failed: 0, skippedShards: 0 });
  expect(room.logs.records.at(-1)).toMatchObject({
    level: 'info', event: 'fanoutWorker', requestId: 'w-1', broadcastId: e.broadcast_id, roomId: 'big', shards: '10-20', outcome: 'delivered', PostsDelivered: expected.length,
  });
});

test('one shard, the first and the last', async () => {
  for (const [from, to] of [[0, 0], [63, 63], [0, 63]]) {
    fx.server.reset();
    await runFanoutWorker(event({ shard_from: from, shard_to: to }), room);
    expect([...postCounts().keys()].sort()).toEqual(inShards(MEMBERS, from, to));
  }
});

test('writes a progress mark for each shard it finished (expiring in 15 minutes)', async () => {
  const e = event({ shard_from: 30, shard_to: 39 });
  const before = Math.floor(Date.now() / 1000);
  await runFanoutWorker(e, room);
  expect(await marks(room, e.broadcast_id)).toEqual(shardsWithMembers(MEMBERS, 30, 39));
  const [item] = await itemsOfKey(fx.dynamo.client, room.config.tableName, progressPartition(e.broadcast_id));
  expect(Number(item[TABLE.ttl].N)).toBeGreaterThanOrEqual(before + 900);
  expect(Number(item[TABLE.ttl].N)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 900);
  // Marks are not members of any room.
  expect(item[TABLE.roomId]).toBeUndefined();
});

test('a retry skips the shards its earlier attempt marked done', async () => {
  const e = event({ shard_from: 40, shard_to: 50 });
  // An earlier attempt finished 40-44 (and another worker of the broadcast finished 5, outside this range).
  for (const shard of [40, 41, 42, 43, 44, 5]) {
    await fx.dynamo.client.send(new PutItemCommand({
      TableName: room.config.tableName,
      Item: { [TABLE.partitionKey]: { S: progressPartition(e.broadcast_id) }, [TABLE.sortKey]: { S: `shard#${shard}` }, [TABLE.ttl]: { N: String(nowSeconds() + 600) } },
    }));
  }
  const result = await runFanoutWorker(e, room);
  expect([...postCounts().keys()].sort()).toEqual(inShards(MEMBERS, 45, 50));
  expect(result).toMatchObject({ skippedShards: 5, delivered: inShards(MEMBERS, 45, 50).length });
});

test('the same event run twice posts nothing the second time; another broadcast\'s marks do not count', async () => {
  const e = event({ shard_from: 0, shard_to: 7 });
  await runFanoutWorker(e, room);
  const first = fx.server.received.length;
  expect(first).toBe(inShards(MEMBERS, 0, 7).length);
  const again = await runFanoutWorker(e, room);
  expect(fx.server.received).toHaveLength(first);
  expect(again).toEqual({ delivered: 0, gone: 0, failed: 0, skippedShards: shardsWithMembers(MEMBERS, 0, 7).length });

  await runFanoutWorker({ ...e, broadcast_id: 'another' }, room);
  expect(fx.server.received).toHaveLength(2 * first);
});

describe('the sender', () => {
  const idInShard = (shard: number) => {
    for (let i = 0; ; i++) if (shardOf(`s-${i}`) === shard) return `s-${i}`;
  };

  test('in the range but not yet in the index: its own copy, once', async () => {
    const sender = idInShard(15);
    await runFanoutWorker(event({ sender: { connection_id: sender, frame: SENDER_FRAME } }), room);
    expect(fx.server.postsTo(sender).map((p) => p.body)).toEqual([SENDER_FRAME]);
  });

  test('in the index: its own copy instead of the common one', async () => {
    const sender = inShards(MEMBERS, 10, 20)[3];
    await runFanoutWorker(event({ sender: { connection_id: sender, frame: SENDER_FRAME } }), room);
    expect(fx.server.postsTo(sender).map((p) => p.body)).toEqual([SENDER_FRAME]);
  });

  test('outside the range: not this worker\'s to post', async () => {
    const sender = idInShard(5);
    await runFanoutWorker(event({ sender: { connection_id: sender, frame: SENDER_FRAME } }), room);
    expect(fx.server.postsTo(sender)).toEqual([]);
  });

  test('in a shard a previous attempt finished: not posted again', async () => {
    const sender = idInShard(12);
    const e = event({ sender: { connection_id: sender, frame: SENDER_FRAME } });
    await runFanoutWorker(e, room);
    await runFanoutWorker(e, room);
    expect(fx.server.postsTo(sender)).toHaveLength(1);
  });
});

test('liveness is judged at the broadcast\'s time (now_seconds), and 410s are removed', async () => {
  const deps = await fx.deps();
  const at = nowSeconds();
  const ids = idRange('t', 120);
  await seedConnections(fx.dynamo.client, deps.config.tableName, ids.map((id, i) => ({ id, room: 'big', ttl: i % 4 === 0 ? at - 5 : at + 600 })));
  const gone = ids.filter((_, i) => i % 4 === 1).slice(0, 5);
  for (const id of gone) fx.server.script(id, 410);

  const result = await runFanoutWorker(event({ shard_from: 0, shard_to: 63, now_seconds: at }), deps);

  const live = ids.filter((_, i) => i % 4 !== 0);
  expect([...postCounts().keys()].sort()).toEqual(live);
  expect(result).toMatchObject({ delivered: live.length - gone.length, gone: gone.length, failed: 0 });
  for (const id of gone) expect(await roomsOf(fx.dynamo.client, deps.config.tableName, id)).toEqual([]);
});

test('cut by its deadline: throws (Lambda retries it) after marking only the shards it finished; the retry does the rest', async () => {
  const deps = await fx.deps({ FANOUT_CONCURRENCY: '1' });
  await seedConnections(fx.dynamo.client, deps.config.tableName, MEMBERS.map((id) => ({ id, room: 'big' })));
  const range = inShards(MEMBERS, 0, 15);
  const cutAfter = Math.floor(range.length / 2);
  // The clock jumps a minute once half the range has been posted to: no further attempt fits before the deadline.
  let skew = 0;
  fx.server.onPost = () => {
    if (fx.server.received.length === cutAfter) skew = 60_000;
  };
  const clocked = { ...deps, now: () => Date.now() + skew };
  const e = event({ shard_from: 0, shard_to: 15 });

  await expect(runFanoutWorker(e, clocked, { getRemainingTimeInMillis: () => 10_000 })).rejects.toThrow(/ran out of time for shards 0-15/);

  expect(fx.server.received).toHaveLength(cutAfter);
  const posted = new Set(fx.server.received.map((p) => p.connectionId));
  const done = await marks(deps, e.broadcast_id);
  // A shard is marked exactly when every member of it was posted to: the shard cut part-way (and those after it) are not.
  const complete = shardsWithMembers(MEMBERS, 0, 15).filter((shard) => inShards(MEMBERS, shard, shard).every((id) => posted.has(id)));
  expect(done).toEqual(complete);
  expect(done.length).toBeGreaterThan(0);
  expect(done.length).toBeLessThan(shardsWithMembers(MEMBERS, 0, 15).length);
  expect(deps.logs.records.at(-1)).toMatchObject({ level: 'error', outcome: 'truncated', truncated: true });

  // Lambda's retry (same event): the marked shards are skipped, the rest is posted.
  fx.server.reset();
  skew = 0;
  const retry = await runFanoutWorker(e, clocked, { getRemainingTimeInMillis: () => 10_000 });
  const second = new Set(fx.server.received.map((p) => p.connectionId));
  expect(retry.skippedShards).toBe(done.length);
  for (const id of range) {
    if (done.includes(shardOf(id))) expect(second.has(id)).toBe(false);
    else expect(second.has(id)).toBe(true);
  }
  expect(await marks(deps, e.broadcast_id)).toEqual(shardsWithMembers(MEMBERS, 0, 15));
});

test('a shard whose member still waited for a retry when the deadline came is not marked (its retry is the next attempt\'s)', async () => {
  const deps = await fx.deps({ FANOUT_CONCURRENCY: '1' });
  await seedConnections(fx.dynamo.client, deps.config.tableName, MEMBERS.map((id) => ({ id, room: 'big' })));
  const [first, second, third] = shardsWithMembers(MEMBERS, 0, 15);
  // A member of the first shard answers 503 once: its retry waits for the end of the first pass.
  const flaky = inShards(MEMBERS, first, first)[0];
  fx.server.script(flaky, 503, 200);
  // The clock jumps once the first three shards were posted to (and one more): the first pass is cut in the fourth.
  const cutAfter = inShards(MEMBERS, first, third).length + 1;
  let skew = 0;
  fx.server.onPost = () => {
    if (fx.server.received.length === cutAfter) skew = 60_000;
  };
  const e = event({ shard_from: 0, shard_to: 15 });
  await expect(runFanoutWorker(e, { ...deps, now: () => Date.now() + skew }, { getRemainingTimeInMillis: () => 10_000 })).rejects.toThrow(/ran out of time/);

  expect(fx.server.postsTo(flaky).map((p) => p.reply)).toEqual([503]);
  expect(await marks(deps, e.broadcast_id)).toEqual([second, third]);

  fx.server.reset();
  await runFanoutWorker(e, deps, { getRemainingTimeInMillis: () => 10_000 });
  expect(fx.server.deliveredTo(flaky)).toHaveLength(1);
  expect(fx.server.postsTo(inShards(MEMBERS, second, second)[0])).toEqual([]);
});

test('a progress mark that cannot be written is logged; the worker still finishes', async () => {
  // A client whose PutItem fails (a fault the local server cannot produce on demand); reads and deletes work.
  const dynamo = new DynamoDBClient({ endpoint: fx.dynamo.endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });
  dynamo.middlewareStack.add((next, context) => async (args) => {
    if (context.commandName === 'PutItemCommand') throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    return next(args);
  }, { step: 'initialize', name: 'failPutItem' });
  try {
    const result = await runFanoutWorker(event({ shard_from: 20, shard_to: 22 }), { ...room, dynamo });
    expect(result.delivered).toBe(inShards(MEMBERS, 20, 22).length);
    const failed = room.logs.records.filter((r) => r.outcome === 'mark_failed');
    expect(failed.map((r) => r.shard).sort()).toEqual(shardsWithMembers(MEMBERS, 20, 22));
    for (const record of failed) expect(record).toMatchObject({ level: 'warn', event: 'fanoutWorker', errorName: 'ProvisionedThroughputExceededException' });
  } finally {
    dynamo.destroy();
  }
});

test('the worker paces itself at its share of the rate budget', async () => {
  const deps = await fx.deps();
  const ids = idRange('p', 12);
  await seedConnections(fx.dynamo.client, deps.config.tableName, ids.map((id) => ({ id, room: 'big' })));
  const started = Date.now();
  await runFanoutWorker(event({ shard_from: 0, shard_to: 63, rate: 10 }), deps);
  // 12 posts at 10/s, one banked: at least 1.1 s (a lower bound: it cannot be faster).
  expect(fx.server.received).toHaveLength(12);
  expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
});

import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { latestSeq, MAX_REPLAYABLE_FRAME_BYTES, readHistory } from '../../../src/handlers/lib/history-store';
import { apiIdOf, publish, PublishValidationError, validatePublishInput } from '../../../src/handlers/lib/publish';
import { LIMITS, TABLE } from '../../../src/shared/contract';
import { allItems, idRange, type SeedRow } from '../../support/connections-table';
import { startHandlerFixture, type FixtureDeps, type HandlerFixture } from '../../support/handler-fixture';

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterEach(() => fx.server.reset());
afterAll(() => fx.close());

const NOW = Date.parse('2030-01-02T03:04:05.678Z');
const NOW_S = Math.floor(NOW / 1000);
const TIMESTAMP = new Date(NOW).toISOString();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const ROOM: SeedRow[] = [
  { id: 'alice-1', user: 'alice', room: 'r' },
  { id: 'alice-2', user: 'alice', rooms: ['r', 'other'] },
  { id: 'bob-1', user: 'bob', room: 'r' },
  { id: 'carol-1', user: 'carol', room: 'other' },
  { id: 'dave-1', user: 'dave' },
];

async function setup(rows: SeedRow[] = ROOM, env: Record<string, string> = {}): Promise<FixtureDeps> {
  return fx.depsAt(NOW, rows, env);
}

const tableKeys = async (deps: FixtureDeps) =>
  (await allItems(fx.dynamo.client, deps.config.tableName)).map((i) => `${i[TABLE.partitionKey].S}|${i[TABLE.sortKey].S}`).sort();

describe('invalid input throws a PublishValidationError naming the field; nothing is posted, written or deleted', () => {
  const cases: Array<[string, string, unknown]> = [
    ['null', 'input', null],
    ['a string', 'input', 'hello'],
    ['an array', 'input', [{ user_id: 'alice', type: 't' }]],
    ['a number', 'input', 42],
    ['no target', 'target', { type: 't', data: {} }],
    ['only null targets', 'target', { room_id: null, user_id: null, type: 't' }],
    ['two targets', 'target', { room_id: 'r', user_id: 'alice', type: 't' }],
    ['three targets', 'target', { room_id: 'r', user_id: 'alice', connection_id: 'alice-1', type: 't' }],
    ['a malformed room id', 'room_id', { room_id: 'no spaces', type: 't' }],
    ['a 129-character room id', 'room_id', { room_id: 'r'.repeat(129), type: 't' }],
    ['a numeric room id', 'room_id', { room_id: 5, type: 't' }],
    ['an empty user id', 'user_id', { user_id: '', type: 't' }],
    ['a numeric user id', 'user_id', { user_id: 7, type: 't' }],
    ['a user id over 1024 characters', 'user_id', { user_id: 'u'.repeat(LIMITS.maxUserIdLength + 1), type: 't' }],
    ['a connection id with a space', 'connection_id', { connection_id: 'a b', type: 't' }],
    ['an empty connection id', 'connection_id', { connection_id: '', type: 't' }],
    ['no type', 'type', { user_id: 'alice', data: {} }],
    ['an empty type', 'type', { user_id: 'alice', type: '' }],
    ['a 129-character type', 'type', { user_id: 'alice', type: 't'.repeat(129) }],
    ['a numeric type', 'type', { user_id: 'alice', type: 5 }],
    ['an object type', 'type', { user_id: 'alice', type: { name: 't' } }],
    ['an empty idempotency key', 'idempotency_key', { user_id: 'alice', type: 't', idempotency_key: '' }],
    ['a numeric idempotency key', 'idempotency_key', { user_id: 'alice', type: 't', idempotency_key: 1 }],
    ['a 257-character idempotency key', 'idempotency_key', { user_id: 'alice', type: 't', idempotency_key: 'k'.repeat(257) }],
    ['data over 128 KB (user)', 'data', { user_id: 'alice', type: 't', data: 'x'.repeat(LIMITS.maxMessageBytes) }],
    ['data over 128 KB (connection)', 'data', { connection_id: 'alice-1', type: 't', data: { blob: 'x'.repeat(LIMITS.maxMessageBytes) } }],
    ['data over 128 KB once JSON-escaped', 'data', { user_id: 'alice', type: 't', data: '\u0001'.repeat(30_000) }],
    ['room data that would not fit a history answer', 'data', { room_id: 'r', type: 't', data: 'x'.repeat(MAX_REPLAYABLE_FRAME_BYTES) }],
  ];

  test.each(cases)('%s → %s', async (_what, field, input) => {
    const deps = await setup();
    const before = await tableKeys(deps);
    const error = await publish(input, deps).then(() => undefined, (err: unknown) => err);
    expect(error).toBeInstanceOf(PublishValidationError);
    expect(error).toMatchObject({ name: 'PublishValidationError', field });
    expect((error as Error).message.startsWith(`${field}: `)).toBe(true);
    expect(fx.server.received).toEqual([]);
    expect(await tableKeys(deps)).toEqual(before);
    expect(await latestSeq(fx.dynamo.client, deps.config.messagesTable!, 'r')).toBe(0);
    expect(deps.logs.records).toEqual([expect.objectContaining({ level: 'warn', event: 'publish', outcome: 'invalid', errorName: 'PublishValidationError' })]);
  });

  test('null targets beside the one given do not count', () => {
    expect(validatePublishInput({ room_id: null, user_id: 'alice', connection_id: undefined, type: 't' })).toEqual({
      target: { kind: 'user', id: 'alice' }, type: 't', data: null, idempotencyKey: undefined,
    });
  });

  test('data is any JSON; absent data is null', () => {
    for (const data of [0, false, 'text', [1, 'a'], { nested: { deep: [null] } }, null]) {
      expect(validatePublishInput({ user_id: 'u', type: 't', data }).data).toEqual(data);
    }
    expect(validatePublishInput({ user_id: 'u', type: 't' }).data).toBeNull();
  });

  test('limits at the edge are accepted: a 128-character type, a 256-character key, a 128-character room id, a 1024-character user', () => {
    expect(() => validatePublishInput({ room_id: 'r'.repeat(128), type: 't'.repeat(128), idempotency_key: 'k'.repeat(256) })).not.toThrow();
    expect(() => validatePublishInput({ user_id: 'u'.repeat(1024), type: 't' })).not.toThrow();
    expect(() => validatePublishInput({ connection_id: 'L0SM9cOFvHcCIhw=', type: 't' })).not.toThrow();
  });
});

describe('frame size limits', () => {
  /** The bytes of an event frame around string data of length 0. */
  const overhead = (extra: Record<string, unknown> = {}) =>
    Buffer.byteLength(JSON.stringify({ action: 'event', event_id: '0'.repeat(36), type: 't', data: '', timestamp: TIMESTAMP, ...extra }));

  test('a frame of exactly 128 KB is posted to a connection; one byte more is refused', async () => {
    const deps = await setup();
    const n = LIMITS.maxMessageBytes - overhead();
    await publish({ connection_id: 'bob-1', type: 't', data: 'x'.repeat(n) }, deps);
    expect(Buffer.byteLength(fx.server.postsTo('bob-1')[0].body)).toBe(LIMITS.maxMessageBytes);
    await expect(publish({ connection_id: 'bob-1', type: 't', data: 'x'.repeat(n + 1) }, deps)).rejects.toMatchObject({ field: 'data' });
  });

  test('a room event (history on) as large as a history answer can replay is stored, delivered and replayed; one byte more is refused', async () => {
    const deps = await setup();
    // Sized with the widest seq the event could get.
    const n = MAX_REPLAYABLE_FRAME_BYTES - overhead({ room_id: 'r', seq: Number.MAX_SAFE_INTEGER });
    await expect(publish({ room_id: 'r', type: 't', data: 'y'.repeat(n + 1) }, deps)).rejects.toMatchObject({ field: 'data' });
    const result = await publish({ room_id: 'r', type: 't', data: 'y'.repeat(n) }, deps);
    expect(result).toMatchObject({ delivered: 3, seq: 1 });
    const page = await readHistory(fx.dynamo.client, { tableName: deps.config.messagesTable!, roomId: 'r', afterSeq: 0, limit: 100, nowSeconds: NOW_S });
    expect(page.messages).toEqual([JSON.parse(fx.server.postsTo('bob-1')[0].body)]);
    expect(page.hasMore).toBe(false);
  });

  test('with history off a room event may use the whole 128 KB', async () => {
    const deps = await setup(ROOM, { MESSAGES_TABLE: '' });
    const n = LIMITS.maxMessageBytes - overhead({ room_id: 'r' });
    expect(await publish({ room_id: 'r', type: 't', data: 'z'.repeat(n) }, deps)).toEqual({ delivered: 3, gone: 0, failed: 0 });
    expect(Buffer.byteLength(fx.server.postsTo('bob-1')[0].body)).toBe(LIMITS.maxMessageBytes);
  });
});

describe('a user target', () => {
  test('reaches every live connection of the user (all their devices) and nobody else', async () => {
    const deps = await setup([...ROOM, { id: 'alice-old', user: 'alice', ttl: NOW_S - 1 }, { id: 'alice-x', user: 'alicex' }]);

    const result = await publish({ user_id: 'alice', type: 'order.shipped', data: { order: 42, items: ['a', 'b'] } }, deps);

    expect(result).toEqual({ delivered: 2, gone: 0, failed: 0 });
    expect(fx.server.deliveredIds()).toEqual(['alice-1', 'alice-2']);
    const [frame] = fx.server.deliveredTo('alice-1');
    expect(frame).toEqual({ action: 'event', event_id: expect.stringMatching(UUID), type: 'order.shipped', data: { order: 42, items: ['a', 'b'] }, timestamp: TIMESTAMP });
    expect(fx.server.deliveredTo('alice-2')).toEqual([frame]);
    expect(fx.server.received.every((p) => p.signed)).toBe(true);
  });

  test('a user with no live connection: nothing delivered, not an error', async () => {
    const deps = await setup();
    expect(await publish({ user_id: 'nobody', type: 't' }, deps)).toEqual({ delivered: 0, gone: 0, failed: 0 });
    expect(fx.server.received).toEqual([]);
  });

  test('a device that is gone is removed, the others still reached', async () => {
    const deps = await setup();
    fx.server.script('alice-2', 410);
    expect(await publish({ user_id: 'alice', type: 't' }, deps)).toEqual({ delivered: 1, gone: 1, failed: 0 });
    expect((await tableKeys(deps)).filter((k) => k.startsWith('alice-2|'))).toEqual([]);
  });

  test('many devices (more than the concurrency)', async () => {
    const ids = idRange('dev', 45);
    const deps = await setup(ids.map((id) => ({ id, user: 'many' })), { FANOUT_CONCURRENCY: '4' });
    expect(await publish({ user_id: 'many', type: 't' }, deps)).toEqual({ delivered: 45, gone: 0, failed: 0 });
    expect(fx.server.deliveredIds()).toEqual(ids);
    expect(fx.server.maxInFlight).toBeLessThanOrEqual(4);
  });
});

describe('a room target', () => {
  test('is stored in the room\'s history with a seq, then delivered to every member once', async () => {
    const deps = await setup();

    const first = await publish({ room_id: 'r', type: 'score', data: { home: 1 } }, deps);
    const second = await publish({ room_id: 'r', type: 'score', data: { home: 2 } }, deps);

    expect(first).toEqual({ delivered: 3, gone: 0, failed: 0, seq: 1 });
    expect(second).toEqual({ delivered: 3, gone: 0, failed: 0, seq: 2 });
    expect(fx.server.deliveredIds()).toEqual(['alice-1', 'alice-2', 'bob-1']);
    const frames = fx.server.deliveredTo('bob-1');
    expect(frames).toEqual([
      { action: 'event', event_id: expect.stringMatching(UUID), type: 'score', data: { home: 1 }, timestamp: TIMESTAMP, room_id: 'r', seq: 1 },
      { action: 'event', event_id: expect.stringMatching(UUID), type: 'score', data: { home: 2 }, timestamp: TIMESTAMP, room_id: 'r', seq: 2 },
    ]);
    expect(frames[0].event_id).not.toBe(frames[1].event_id);
    for (const id of ['alice-1', 'alice-2']) expect(fx.server.deliveredTo(id)).toEqual(frames);
    expect(fx.server.postsTo('carol-1')).toEqual([]);
    // The history holds the frames as delivered.
    const page = await readHistory(fx.dynamo.client, { tableName: deps.config.messagesTable!, roomId: 'r', afterSeq: 0, limit: 10, nowSeconds: NOW_S });
    expect(page.messages).toEqual(frames);
    expect(deps.logs.records[0]).toMatchObject({ level: 'info', event: 'publish', outcome: 'published', target: 'room', targetId: 'r', seq: 1, delivered: 3, MessagesStored: 1, PostsDelivered: 3 });
  });

  test('with history off: delivered without a seq, nothing stored', async () => {
    const deps = await setup(ROOM, { MESSAGES_TABLE: '' });
    expect(await publish({ room_id: 'r', type: 't' }, deps)).toEqual({ delivered: 3, gone: 0, failed: 0 });
    const [frame] = fx.server.deliveredTo('bob-1');
    expect(frame).toEqual({ action: 'event', event_id: expect.stringMatching(UUID), type: 't', data: null, timestamp: TIMESTAMP, room_id: 'r' });
  });

  test('an empty room: stored (a seq is taken), nothing delivered', async () => {
    const deps = await setup();
    expect(await publish({ room_id: 'empty', type: 't' }, deps)).toEqual({ delivered: 0, gone: 0, failed: 0, seq: 1 });
  });

  test('the history cannot be written: it throws and nothing is delivered', async () => {
    const deps = await setup();
    const broken = { ...deps, config: { ...deps.config, messagesTable: 'missing-table' } };
    await expect(publish({ room_id: 'r', type: 't' }, broken)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect(fx.server.received).toEqual([]);
    expect(deps.logs.records).toEqual([expect.objectContaining({ level: 'error', event: 'publish', outcome: 'error', target: 'room' })]);
  });
});

describe('a connection target', () => {
  test('a live connection gets the event', async () => {
    const deps = await setup();
    expect(await publish({ connection_id: 'dave-1', type: 'job.done', data: { ok: true } }, deps)).toEqual({ delivered: 1, gone: 0, failed: 0 });
    expect(fx.server.deliveredTo('dave-1')).toEqual([{ action: 'event', event_id: expect.stringMatching(UUID), type: 'job.done', data: { ok: true }, timestamp: TIMESTAMP }]);
    expect(fx.server.received).toHaveLength(1);
  });

  test('a closed connection (410): gone 1, and every item of it removed', async () => {
    const deps = await setup();
    fx.server.script('alice-2', 410);
    expect(await publish({ connection_id: 'alice-2', type: 't' }, deps)).toEqual({ delivered: 0, gone: 1, failed: 0 });
    expect((await tableKeys(deps)).filter((k) => k.startsWith('alice-2|'))).toEqual([]);
    expect((await tableKeys(deps)).filter((k) => k.startsWith('alice-1|'))).toHaveLength(2);
  });

  test('an unknown connection id (410, no items): gone 1', async () => {
    const deps = await setup();
    fx.server.script('never-seen', 410);
    expect(await publish({ connection_id: 'never-seen', type: 't' }, deps)).toEqual({ delivered: 0, gone: 1, failed: 0 });
  });

  test('429 then 200 is retried and delivered; a persistent 500 fails after the attempts, its items kept', async () => {
    const deps = await setup();
    fx.server.script('bob-1', 429, 200).script('dave-1', 500);
    expect(await publish({ connection_id: 'bob-1', type: 't' }, deps)).toEqual({ delivered: 1, gone: 0, failed: 0 });
    expect(await publish({ connection_id: 'dave-1', type: 't' }, deps)).toEqual({ delivered: 0, gone: 0, failed: 1 });
    expect(fx.server.postsTo('dave-1')).toHaveLength(3);
    expect((await tableKeys(deps)).filter((k) => k.startsWith('dave-1|'))).toHaveLength(1);
    expect(deps.logs.records[1]).toMatchObject({ level: 'warn', failed: 1, PostsFailed: 1 });
  });

  test('nothing is posted past the invocation\'s deadline', async () => {
    const deps = await setup();
    expect(await publish({ connection_id: 'bob-1', type: 't' }, deps, { getRemainingTimeInMillis: () => 500 })).toEqual({ delivered: 0, gone: 0, failed: 1 });
    expect(fx.server.received).toEqual([]);
  });
});

describe('idempotency_key', () => {
  const markOf = async (deps: FixtureDeps, key: string) =>
    (await fx.dynamo.client.send(new GetItemCommand({
      TableName: deps.config.tableName,
      Key: { [TABLE.partitionKey]: { S: `idem#${key}` }, [TABLE.sortKey]: { S: 'idem' } },
      ConsistentRead: true,
    }))).Item;

  test('the same key twice: delivered once; the second answers {duplicate: true}', async () => {
    const deps = await setup();
    const input = { user_id: 'alice', type: 't', data: 1, idempotency_key: 'order-42-shipped' };
    expect(await publish(input, deps)).toEqual({ delivered: 2, gone: 0, failed: 0 });
    expect(await publish(input, deps)).toEqual({ duplicate: true });
    expect(fx.server.received).toHaveLength(2);
    expect(await markOf(deps, 'order-42-shipped')).toEqual({
      [TABLE.partitionKey]: { S: 'idem#order-42-shipped' },
      [TABLE.sortKey]: { S: 'idem' },
      [TABLE.ttl]: { N: String(NOW_S + LIMITS.idempotencyTtlSeconds) },
    });
    expect(deps.logs.records[1]).toMatchObject({ level: 'info', outcome: 'duplicate' });
  });

  test('a duplicate room publish takes no seq', async () => {
    const deps = await setup();
    const input = { room_id: 'r', type: 't', idempotency_key: 'k' };
    expect(await publish(input, deps)).toMatchObject({ seq: 1 });
    expect(await publish(input, deps)).toEqual({ duplicate: true });
    expect(await latestSeq(fx.dynamo.client, deps.config.messagesTable!, 'r')).toBe(1);
    expect(fx.server.deliveredTo('bob-1')).toHaveLength(1);
  });

  test('a publish that reached no one because a post failed releases its key: a retry delivers', async () => {
    const deps = await setup(ROOM, { POST_MAX_ATTEMPTS: '2' });
    fx.server.script('bob-1', 500, 500, 200);
    const input = { connection_id: 'bob-1', type: 't', idempotency_key: 'flaky' };
    expect(await publish(input, deps)).toEqual({ delivered: 0, gone: 0, failed: 1 });
    expect(await markOf(deps, 'flaky')).toBeUndefined();
    expect(await publish(input, deps)).toEqual({ delivered: 1, gone: 0, failed: 0 });
    expect(await publish(input, deps)).toEqual({ duplicate: true });
  });

  test('a user with no live connection keeps the key (nothing failed: the publish is done)', async () => {
    const deps = await setup();
    const input = { user_id: 'nobody', type: 't', idempotency_key: 'empty' };
    expect(await publish(input, deps)).toEqual({ delivered: 0, gone: 0, failed: 0 });
    expect(await publish(input, deps)).toEqual({ duplicate: true });
  });

  test('the same key at the same time: exactly one delivers', async () => {
    const deps = await setup();
    const input = { connection_id: 'bob-1', type: 't', idempotency_key: 'race' };
    const results = await Promise.all(Array.from({ length: 8 }, () => publish(input, deps)));
    expect(results.filter((r) => r.duplicate)).toHaveLength(7);
    expect(results.filter((r) => r.delivered === 1)).toHaveLength(1);
    expect(fx.server.received).toHaveLength(1);
  });

  test('different keys, or none, each deliver', async () => {
    const deps = await setup();
    await publish({ connection_id: 'bob-1', type: 't', idempotency_key: 'a' }, deps);
    await publish({ connection_id: 'bob-1', type: 't', idempotency_key: 'b' }, deps);
    await publish({ connection_id: 'bob-1', type: 't' }, deps);
    await publish({ connection_id: 'bob-1', type: 't' }, deps);
    expect(fx.server.deliveredTo('bob-1')).toHaveLength(4);
  });

  test('a mark past its 5 minutes no longer counts (even before DynamoDB deletes it)', async () => {
    const deps = await setup();
    const input = { connection_id: 'bob-1', type: 't', idempotency_key: 'k' };
    await publish(input, deps);
    expect(await publish(input, { ...deps, now: () => NOW + 299_000 })).toEqual({ duplicate: true });
    expect(await publish(input, { ...deps, now: () => NOW + 301_000 })).toEqual({ delivered: 1, gone: 0, failed: 0 });
    expect(await markOf(deps, 'k')).toMatchObject({ [TABLE.ttl]: { N: String(NOW_S + 301 + LIMITS.idempotencyTtlSeconds) } });
  });

  test('a failing publish removes its mark: a retry with the same key then delivers', async () => {
    const deps = await setup();
    const input = { room_id: 'r', type: 't', idempotency_key: 'retry-me' };
    const broken = { ...deps, config: { ...deps.config, messagesTable: 'missing-table' } };
    await expect(publish(input, broken)).rejects.toThrow();
    expect(await markOf(deps, 'retry-me')).toBeUndefined();
    expect(fx.server.received).toEqual([]);

    expect(await publish(input, deps)).toEqual({ delivered: 3, gone: 0, failed: 0, seq: 1 });
    expect(await publish(input, deps)).toEqual({ duplicate: true });
  });

  test('an invalid publish writes no mark', async () => {
    const deps = await setup();
    await expect(publish({ user_id: 'alice', type: '', idempotency_key: 'bad' }, deps)).rejects.toBeInstanceOf(PublishValidationError);
    expect(await markOf(deps, 'bad')).toBeUndefined();
  });

  test('the mark cannot be written (table missing): the publish throws, nothing delivered', async () => {
    const deps = await setup();
    const broken = { ...deps, config: { ...deps.config, tableName: 'missing-table' } };
    await expect(publish({ connection_id: 'bob-1', type: 't', idempotency_key: 'k' }, broken)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect(fx.server.received).toEqual([]);
  });
});

test('one log line per publish, an EMF document; the user id of a user target is not logged', async () => {
  const deps = await setup(ROOM, { METRICS_NAMESPACE: 'PushTest' });
  await publish({ user_id: 'alice', type: 'secret.type', data: { token: 'do-not-log' } }, deps, { awsRequestId: 'req-77' });
  expect(deps.logs.lines).toHaveLength(1);
  expect(deps.logs.lines[0]).not.toContain('do-not-log');
  expect(deps.logs.lines[0]).not.toContain('"alice"');
  expect(deps.logs.records[0]).toMatchObject({
    level: 'info',
    event: 'publish',
    requestId: 'req-77',
    outcome: 'published',
    target: 'user',
    type: 'secret.type',
    eventId: expect.stringMatching(UUID),
    delivered: 2,
    PostsDelivered: 2,
    _aws: { CloudWatchMetrics: [expect.objectContaining({ Namespace: 'PushTest' })] },
  });
});

test('apiIdOf: the API id from the management endpoint', () => {
  expect(apiIdOf('https://abc123.execute-api.eu-west-1.amazonaws.com/dev')).toBe('abc123');
  expect(apiIdOf('not a url')).toBe('unknown');
});

import { DynamoDBClient, GetItemCommand, InternalServerError, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { FanoutQueryError } from '../../../src/handlers/lib/fanout';
import { runFanoutWorker } from '../../../src/handlers/lib/fanout-worker';
import { MAX_REPLAYABLE_FRAME_BYTES, readHistory } from '../../../src/handlers/lib/history-store';
import type { AsyncInvoker } from '../../../src/handlers/lib/lambda-invoke';
import { handleSendMessage } from '../../../src/handlers/lib/send-message';
import { allConnectionIds, allItems, idRange, seedConnections, type SeedRow } from '../../support/connections-table';
import { routeEvent, startHandlerFixture, type HandlerFixture } from '../../support/handler-fixture';

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterEach(() => fx.server.reset());
afterAll(() => fx.close());

const NOW = Date.parse('2030-01-02T03:04:05.678Z');

async function room(rows: SeedRow[], env: Record<string, string> = {}) {
  const deps = await fx.deps(env, { now: () => NOW, newMessageId: () => 'msg-1' });
  await seedConnections(fx.dynamo.client, deps.config.tableName, rows.map((r) => ({ ttl: Math.floor(NOW / 1000) + 3600, ...r })));
  return deps;
}

const send = (connectionId: string, frame: unknown, identity: { userId?: string; roomId?: string } = {}) =>
  routeEvent({ connectionId, body: typeof frame === 'string' ? frame : JSON.stringify(frame), ...identity });


describe('broadcast', () => {
  test('everyone in the room gets the message with its seq, the sender included; other rooms get nothing', async () => {
    const deps = await room([
      { id: 'alice-1', room: 'lobby', user: 'alice' },
      { id: 'bob-1', room: 'lobby', user: 'bob' },
      { id: 'carol-1', rooms: ['lobby', 'kitchen'], user: 'carol' },
      { id: 'dave-1', room: 'kitchen', user: 'dave' },
    ]);

    const result = await handleSendMessage(send('alice-1', { action: 'sendMessage', message: 'hello' }, { userId: 'alice' }), deps);

    expect(result).toEqual({ statusCode: 200 });
    const expected = {
      action: 'message',
      message_id: 'msg-1',
      room_id: 'lobby',
      seq: 1,
      user_id: 'alice',
      message: 'hello',
      timestamp: '2030-01-02T03:04:05.678Z',
    };
    expect(fx.server.deliveredIds()).toEqual(['alice-1', 'bob-1', 'carol-1']);
    for (const id of ['alice-1', 'bob-1', 'carol-1']) expect(fx.server.deliveredTo(id)).toEqual([expected]);
    expect(fx.server.postsTo('dave-1')).toEqual([]);
  });

  test('the sender\'s own copy echoes its request_id; nobody else\'s does', async () => {
    const deps = await room([{ id: 'a', room: 'lobby' }, { id: 'b', room: 'lobby' }]);
    await handleSendMessage(send('a', { message: 'hi', request_id: 'req-7' }), deps);
    expect(fx.server.deliveredTo('a')[0]).toMatchObject({ message: 'hi', request_id: 'req-7' });
    expect(fx.server.deliveredTo('b')[0]).not.toHaveProperty('request_id');
  });

  test('seq is consecutive per room and the message is stored before the fan-out', async () => {
    const deps = await room([{ id: 'a', rooms: ['r1', 'r2'] }, { id: 'b', room: 'r1' }]);
    fx.server.onPost = () => undefined;
    for (let i = 0; i < 3; i++) await handleSendMessage(send('a', { message: `m${i}`, room_id: 'r1' }), deps);
    await handleSendMessage(send('a', { message: 'other', room_id: 'r2' }), deps);
    expect(fx.server.deliveredTo('b').map((f) => f.seq)).toEqual([1, 2, 3]);
    expect(fx.server.deliveredTo('a').filter((f) => f.room_id === 'r2').map((f) => f.seq)).toEqual([1]);
    const stored = await readHistory(fx.dynamo.client, { tableName: deps.config.messagesTable!, roomId: 'r1', afterSeq: 0, limit: 10, nowSeconds: Math.floor(NOW / 1000) });
    expect(stored.messages).toEqual(fx.server.deliveredTo('b'));
  });

  test('a message that cannot be stored is not delivered: the sender gets UNAVAILABLE', async () => {
    const deps = await room([{ id: 'a', room: 'lobby' }, { id: 'b', room: 'lobby' }], { MESSAGES_TABLE: 'no-such-messages-table' });
    await handleSendMessage(send('a', { message: 'lost?', request_id: 'q' }), deps);
    expect(fx.server.deliveredTo('a')).toEqual([{ action: 'error', code: 'UNAVAILABLE', message: expect.any(String), request_id: 'q' }]);
    expect(fx.server.postsTo('b')).toEqual([]);
    expect(deps.logs.records.at(-1)).toMatchObject({ outcome: 'rejected', code: 'UNAVAILABLE', StoreFailures: 1, MessagesStored: 0 });
  });

  test('with history off there is no seq', async () => {
    const deps = await room([{ id: 'a', room: 'lobby' }], { MESSAGES_TABLE: '' });
    await handleSendMessage(send('a', { message: 'x' }), deps);
    expect(fx.server.deliveredTo('a')[0]).not.toHaveProperty('seq');
  });

  test('a sender not yet in the room index (eventually consistent GSI) still gets its own message, once', async () => {
    const deps = await room([{ id: 'bob-1', room: 'lobby', user: 'bob' }]);
    // alice-1 just joined: its membership item exists (a strongly consistent read finds it) but is not in the
    // index yet — simulated with an item that lacks `shard`, which the sparse index leaves out.
    await fx.dynamo.client.send(new PutItemCommand({
      TableName: deps.config.tableName,
      Item: { connection_id: { S: 'alice-1' }, sk: { S: 'room#lobby' }, room_id: { S: 'lobby' }, user_id: { S: 'alice' }, ttl: { N: String(Math.floor(NOW / 1000) + 600) } },
    }));
    await handleSendMessage(send('alice-1', { action: 'sendMessage', message: 'first!', request_id: 'r' }, { userId: 'alice' }), deps);
    expect(fx.server.deliveredIds()).toEqual(['alice-1', 'bob-1']);
    expect(fx.server.postsTo('alice-1')).toHaveLength(1);
    expect(fx.server.deliveredTo('alice-1')[0]).toMatchObject({ request_id: 'r' });
    expect(deps.logs.records.find((r) => r.event === 'sendMessage')).toMatchObject({ recipients: 2, delivered: 2 });
  });

  test('the user comes from the authorizer context, never from the body', async () => {
    const deps = await room([{ id: 's', room: 'lobby' }]);
    await handleSendMessage(send('s', { message: 'hi', user_id: 'admin', userId: 'admin', room_id: 'lobby' }, { userId: 'alice' }), deps);
    expect(fx.server.deliveredTo('s')[0]).toMatchObject({ user_id: 'alice', room_id: 'lobby' });
  });

  test('a real random message id and an ISO timestamp by default', async () => {
    const deps = await fx.deps();
    await seedConnections(fx.dynamo.client, deps.config.tableName, [{ id: 's', room: 'lobby' }]);
    await handleSendMessage(send('s', { message: 'hi' }), deps);
    const [frame] = fx.server.deliveredTo('s');
    expect(frame.message_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Date(frame.timestamp).toISOString()).toBe(frame.timestamp);
  });

  test('unicode round-trips intact to every recipient', async () => {
    const deps = await room([{ id: 'a', room: 'lobby' }, { id: 'b', room: 'lobby' }]);
    const text = 'héllo 你好 👋🏽 \u0000\u2028 "q" \\ </script>';
    await handleSendMessage(send('a', { action: 'sendMessage', message: text }), deps);
    expect(fx.server.deliveredTo('a')[0].message).toBe(text);
    expect(fx.server.deliveredTo('b')[0].message).toBe(text);
  });

  test('a message at the byte limit is broadcast (multi-byte)', async () => {
    const deps = await room([{ id: 'a', room: 'lobby' }], { MAX_MESSAGE_BYTES: '12' });
    await handleSendMessage(send('a', { message: '€€€€' }), deps);
    expect(fx.server.deliveredTo('a')[0]).toMatchObject({ action: 'message', message: '€€€€' });
  });

  test('base64-flagged bodies are decoded', async () => {
    const deps = await room([{ id: 'a', room: 'lobby' }]);
    const event = { ...send('a', ''), body: Buffer.from(JSON.stringify({ message: 'b64 ✓' })).toString('base64'), isBase64Encoded: true };
    await handleSendMessage(event, deps);
    expect(fx.server.deliveredTo('a')[0].message).toBe('b64 ✓');
  });

  test('expired items are skipped and a 410 removes every item of that connection', async () => {
    const deps = await room([
      { id: 'live', room: 'lobby' },
      { id: 'gone', rooms: ['lobby', 'elsewhere'] },
      { id: 'expired', room: 'lobby', ttl: Math.floor(NOW / 1000) - 1 },
    ]);
    fx.server.script('gone', 410);
    await handleSendMessage(send('live', { message: 'x' }), deps);
    expect(fx.server.deliveredIds()).toEqual(['live']);
    expect(fx.server.postsTo('expired')).toEqual([]);
    expect(await allConnectionIds(fx.dynamo.client, deps.config.tableName)).toEqual(['expired', 'live']);
  });
});

test('with history on, a message whose frame would not fit a history answer is refused (it could never be replayed)', async () => {
  const deps = await room([{ id: 'a', room: 'lobby' }], { MAX_MESSAGE_BYTES: String(126 * 1024) });
  await handleSendMessage(send('a', { message: 'x'.repeat(121 * 1024) }), deps);
  expect(fx.server.deliveredTo('a')).toEqual([expect.objectContaining({ code: 'MESSAGE_TOO_LARGE', message: expect.stringContaining(String(MAX_REPLAYABLE_FRAME_BYTES)) })]);
  expect(await allItems(fx.dynamo.client, deps.config.messagesTable!)).toEqual([]);
  // History off: API Gateway's 128 KB is the limit.
  fx.server.reset();
  const off = await room([{ id: 'b', room: 'lobby' }], { MAX_MESSAGE_BYTES: String(126 * 1024), MESSAGES_TABLE: '' });
  await handleSendMessage(send('b', { message: 'x'.repeat(121 * 1024) }), off);
  expect(fx.server.deliveredTo('b')[0]).toMatchObject({ action: 'message' });
});

describe('rooms: several per connection', () => {
  test('room_id picks the room; without it a connection in several rooms gets ROOM_MISMATCH', async () => {
    const deps = await room([{ id: 'a', rooms: ['r1', 'r2'] }, { id: 'b', room: 'r1' }, { id: 'c', room: 'r2' }]);
    await handleSendMessage(send('a', { message: 'to r2', room_id: 'r2' }), deps);
    expect(fx.server.deliveredIds()).toEqual(['a', 'c']);
    fx.server.reset();
    await handleSendMessage(send('a', { message: 'where?', request_id: 'q' }), deps);
    expect(fx.server.deliveredTo('a')).toEqual([{ action: 'error', code: 'ROOM_MISMATCH', message: expect.stringContaining('several rooms'), request_id: 'q' }]);
    expect(fx.server.deliveredIds()).toEqual(['a']);
  });

  test('a room the connection is not in, or no room at all: ROOM_MISMATCH, nothing stored', async () => {
    const deps = await room([{ id: 'a', room: 'r1' }, { id: 'b', room: 'r2' }, { id: 'loner' }]);
    await handleSendMessage(send('a', { message: 'x', room_id: 'r2' }), deps);
    await handleSendMessage(send('loner', { message: 'x' }), deps);
    expect(fx.server.deliveredTo('a')[0]).toMatchObject({ code: 'ROOM_MISMATCH' });
    expect(fx.server.deliveredTo('loner')[0]).toMatchObject({ code: 'ROOM_MISMATCH', message: expect.stringContaining('no room') });
    expect(fx.server.postsTo('b')).toEqual([]);
    expect(await allItems(fx.dynamo.client, deps.config.messagesTable!)).toEqual([]);
  });

  test('the handshake room in the authorizer context does not matter: membership does', async () => {
    const deps = await room([{ id: 'a', room: 'r1' }, { id: 'b', room: 'r1' }]);
    await handleSendMessage(send('a', { message: 'x' }, { roomId: 'somewhere-else' }), deps);
    expect(fx.server.deliveredIds()).toEqual(['a', 'b']);
  });
});

describe('large rooms: workers take the shards past the threshold', () => {
  test('every live member gets the message exactly once across the broadcast and its workers', async () => {
    const ids = idRange('big', 600);
    const deps = await room(ids.map((id) => ({ id, room: 'big' })), { SHARD_THRESHOLD: '100', MAX_FANOUT_WORKERS: '4', FANOUT_WORKER_FUNCTION: 'worker' });
    const invoked: unknown[] = [];
    const runs: Array<Promise<unknown>> = [];
    // Lambda's asynchronous invoke, in-process: the worker handler against the same table and endpoint.
    const invoker: AsyncInvoker = {
      async invokeAsync(name, payload) {
        expect(name).toBe('worker');
        invoked.push(payload);
        runs.push(runFanoutWorker(payload, deps));
      },
    };
    await handleSendMessage(send('big-0000', { message: 'to all', request_id: 'q' }), { ...deps, invoker, pageSize: 50 });
    await Promise.all(runs);
    expect(invoked.length).toBeGreaterThan(1);
    expect(invoked.length).toBeLessThanOrEqual(4);
    expect(fx.server.deliveredIds()).toEqual(ids);
    for (const id of ids) expect(fx.server.postsTo(id)).toHaveLength(1);
    expect(fx.server.deliveredTo('big-0000')[0]).toMatchObject({ request_id: 'q', seq: 1 });
    const line = deps.logs.records.find((r) => r.event === 'sendMessage');
    expect(line).toMatchObject({ workers: invoked.length, FanoutWorkers: invoked.length });
    expect(Number(line!.recipients)).toBeGreaterThanOrEqual(100);
    expect(Number(line!.recipients)).toBeLessThan(600);
  });
});

describe('the log line (one per invocation) is also an EMF document', () => {
  test('counts, ids and duration; never the message text', async () => {
    const deps = await room([
      { id: 'a', room: 'lobby' },
      { id: 'b', room: 'lobby' },
      { id: 'c', room: 'lobby' },
      { id: 'd', room: 'lobby' },
    ], { METRICS_NAMESPACE: 'ChatTest', POST_MAX_ATTEMPTS: '2' });
    fx.server.script('b', 410).script('c', 500);

    await handleSendMessage(send('a', { message: 'top secret words' }, { userId: 'alice' }), deps);

    expect(deps.logs.lines).toHaveLength(1);
    expect(deps.logs.lines[0]).not.toContain('top secret words');
    const line = deps.logs.records[0];
    expect(line).toMatchObject({
      level: 'warn',
      event: 'sendMessage',
      outcome: 'broadcast',
      connectionId: 'a',
      roomId: 'lobby',
      userId: 'alice',
      messageId: 'msg-1',
      seq: 1,
      recipients: 4,
      delivered: 2,
      gone: 1,
      failed: 1,
      itemsRead: 4,
      pages: 1,
      durationMs: expect.any(Number),
      ApiId: 'api123',
      PostsDelivered: 2,
      ConnectionsGone: 1,
      PostsFailed: 1,
      Recipients: 4,
      FanoutWorkers: 0,
      MessagesStored: 1,
      _aws: {
        Timestamp: NOW,
        CloudWatchMetrics: [
          {
            Namespace: 'ChatTest',
            Dimensions: [['ApiId']],
            Metrics: [
              { Name: 'PostsDelivered', Unit: 'Count' },
              { Name: 'ConnectionsGone', Unit: 'Count' },
              { Name: 'PostsFailed', Unit: 'Count' },
              { Name: 'Recipients', Unit: 'Count' },
              { Name: 'FanoutWorkers', Unit: 'Count' },
              { Name: 'TimeToLastPostMs', Unit: 'Milliseconds' },
              { Name: 'MessagesStored', Unit: 'Count' },
            ],
          },
        ],
      },
    });
    // Every metric named in the directive is a top-level number, and the dimension a string (EMF rules).
    const directive = (line._aws as { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }>; Dimensions: string[][] }> }).CloudWatchMetrics[0];
    for (const { Name } of directive.Metrics) expect(typeof line[Name]).toBe('number');
    for (const name of directive.Dimensions.flat()) expect(typeof line[name]).toBe('string');
  });
});

describe('bad frames get an error frame, to the sender only', () => {
  const cases: Array<[string, string, unknown]> = [
    ['malformed JSON', 'INVALID_JSON', '{"action":"sendMessage",'],
    ['an array', 'INVALID_MESSAGE', '[1,2]'],
    ['a number', 'INVALID_MESSAGE', '7'],
    ['a string', 'INVALID_MESSAGE', '"hi"'],
    ['null', 'INVALID_MESSAGE', 'null'],
    ['a missing message', 'INVALID_MESSAGE', { action: 'sendMessage' }],
    ['a numeric message', 'INVALID_MESSAGE', { action: 'sendMessage', message: 5 }],
    ['an empty message', 'INVALID_MESSAGE', { action: 'sendMessage', message: '' }],
    ['a non-string room_id', 'INVALID_ROOM', { action: 'sendMessage', message: 'hi', room_id: 3 }],
    ['a malformed room_id', 'INVALID_ROOM', { action: 'sendMessage', message: 'hi', room_id: 'a b' }],
    ['another room', 'ROOM_MISMATCH', { action: 'sendMessage', message: 'hi', room_id: 'kitchen' }],
    ['an oversized message', 'MESSAGE_TOO_LARGE', { action: 'sendMessage', message: 'x'.repeat(32 * 1024 + 1) }],
    ['an oversized multi-byte message', 'MESSAGE_TOO_LARGE', { action: 'sendMessage', message: '€'.repeat(11_000) }],
  ];

  test.each(cases)('%s → %s', async (_what, code, frame) => {
    const deps = await room([{ id: 'me', room: 'lobby' }, { id: 'other', room: 'lobby' }]);
    const result = await handleSendMessage(send('me', frame), deps);
    expect(result).toEqual({ statusCode: 200 });
    expect(fx.server.deliveredTo('me')).toEqual([{ action: 'error', code, message: expect.any(String) }]);
    expect(fx.server.postsTo('other')).toEqual([]);
    expect(deps.logs.records).toEqual([expect.objectContaining({ event: 'sendMessage', outcome: 'rejected', code, reply: 'delivered' })]);
    // A reply to the sender is not a broadcast: it is not counted in the fan-out metrics.
    expect(deps.logs.records[0]).not.toHaveProperty('PostsDelivered');
    expect(await allItems(fx.dynamo.client, deps.config.messagesTable!)).toEqual([]);
  });

  test('a missing body → INVALID_JSON', async () => {
    const deps = await room([{ id: 'me', room: 'lobby' }]);
    await handleSendMessage(routeEvent({ connectionId: 'me', body: undefined }), deps);
    await handleSendMessage(routeEvent({ connectionId: 'me', body: null }), deps);
    expect(fx.server.deliveredTo('me').map((f) => f.code)).toEqual(['INVALID_JSON', 'INVALID_JSON']);
  });

  test('a frame whose escaped JSON would exceed what @connections accepts → MESSAGE_TOO_LARGE', async () => {
    // 32 KiB of control characters: within the byte limit, but each is escaped to 6 bytes in the frame.
    const deps = await room([{ id: 'me', room: 'lobby' }, { id: 'other', room: 'lobby' }]);
    await handleSendMessage(send('me', { message: '\u0001'.repeat(32 * 1024) }), deps);
    expect(fx.server.deliveredTo('me')).toEqual([{ action: 'error', code: 'MESSAGE_TOO_LARGE', message: expect.any(String) }]);
    expect(fx.server.postsTo('other')).toEqual([]);
  });

  test('the error post retries like a broadcast post (429 then 200)', async () => {
    const deps = await room([{ id: 'me', room: 'lobby' }]);
    fx.server.script('me', 429, 200);
    await handleSendMessage(send('me', 'nope'), deps);
    expect(fx.server.postsTo('me').map((p) => p.reply)).toEqual([429, 200]);
  });

  test('a 410 on the sender deletes its items', async () => {
    const deps = await room([{ id: 'me', rooms: ['lobby', 'x'] }, { id: 'other', room: 'lobby' }]);
    fx.server.script('me', 410);
    expect(await handleSendMessage(send('me', 'nope'), deps)).toEqual({ statusCode: 200 });
    expect(await allConnectionIds(fx.dynamo.client, deps.config.tableName)).toEqual(['other']);
    expect(deps.logs.records[0]).toMatchObject({ outcome: 'rejected', reply: 'gone' });
  });

  test('an unreachable sender never makes the handler throw', async () => {
    const deps = await room([{ id: 'me', room: 'lobby' }], { POST_TIMEOUT_MS: '100' });
    fx.server.script('me', 'hang');
    expect(await handleSendMessage(send('me', 'nope'), deps)).toEqual({ statusCode: 200 });
    expect(fx.server.postsTo('me')).toHaveLength(3);
    expect(deps.logs.records[0]).toMatchObject({ outcome: 'rejected', reply: 'failed' });
  });
});

test('without an authorizer context nothing is posted (403)', async () => {
  const deps = await room([{ id: 'me', room: 'lobby' }]);
  expect(await handleSendMessage(routeEvent({ connectionId: 'me', body: '{"message":"hi"}', authorizer: null }), deps)).toEqual({ statusCode: 403 });
  expect(fx.server.received).toEqual([]);
});

test('a failed Query is logged with the partial counts and rethrown (a Lambda error, not a silent loss)', async () => {
  const deps = await room([], { MESSAGES_TABLE: '' });
  const dynamo = new DynamoDBClient({ region: 'us-east-1' });
  const mock = mockClient(dynamo);
  // The membership check passes; the room's Query fails.
  mock.on(GetItemCommand).resolves({ Item: { connection_id: { S: 'me' }, sk: { S: 'room#lobby' }, room_id: { S: 'lobby' }, user_id: { S: 'alice' }, ttl: { N: String(Math.floor(NOW / 1000) + 60) } } });
  mock.on(QueryCommand).rejects(new InternalServerError({ message: 'boom', $metadata: { httpStatusCode: 500 } }));
  await expect(handleSendMessage(send('me', { message: 'hi', room_id: 'lobby' }), { ...deps, dynamo })).rejects.toBeInstanceOf(FanoutQueryError);
  expect(deps.logs.records).toEqual([
    expect.objectContaining({ level: 'error', event: 'sendMessage', outcome: 'error', errorName: 'InternalServerError', recipients: 0, PostsDelivered: 0 }),
  ]);
  mock.restore();
});

test('a large room across pages, through the handler', async () => {
  const deps = await room(idRange('p', 250).map((id) => ({ id, room: 'lobby' })), { FANOUT_CONCURRENCY: '8' });
  await handleSendMessage(send('p-0000', { message: 'all' }), { ...deps, pageSize: 40 });
  expect(fx.server.deliveredIds()).toEqual(idRange('p', 250));
  expect(deps.logs.records[0]).toMatchObject({ recipients: 250, delivered: 250, pages: 7, itemsRead: 250 });
  expect(fx.server.maxInFlight).toBeLessThanOrEqual(8);
});

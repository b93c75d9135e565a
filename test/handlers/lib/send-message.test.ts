import { DynamoDBClient, InternalServerError, QueryCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { FanoutQueryError } from '../../../src/handlers/lib/fanout';
import { handleSendMessage } from '../../../src/handlers/lib/send-message';
import { allConnectionIds, idRange, seedConnections } from '../../support/connections-table';
import { routeEvent, startHandlerFixture, type HandlerFixture } from '../../support/handler-fixture';

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterEach(() => fx.server.reset());
afterAll(() => fx.close());

const NOW = Date.parse('2030-01-02T03:04:05.678Z');

async function room(rows: Array<{ id: string; room: string; user?: string; ttl?: number }>, env: Record<string, string> = {}) {
  const deps = await fx.deps(env, { now: () => NOW, newMessageId: () => 'msg-1' });
  await seedConnections(fx.dynamo.client, deps.config.tableName, rows.map((r) => ({ ttl: Math.floor(NOW / 1000) + 3600, ...r })));
  return deps;
}

const send = (connectionId: string, frame: unknown, identity: { userId?: string; roomId?: string } = {}) =>
  routeEvent({ connectionId, body: typeof frame === 'string' ? frame : JSON.stringify(frame), ...identity });

describe('broadcast', () => {
  test('everyone in the room gets the message, the sender included; other rooms get nothing', async () => {
    const deps = await room([
      { id: 'alice-1', room: 'lobby', user: 'alice' },
      { id: 'bob-1', room: 'lobby', user: 'bob' },
      { id: 'carol-1', room: 'lobby', user: 'carol' },
      { id: 'dave-1', room: 'kitchen', user: 'dave' },
    ]);

    const result = await handleSendMessage(send('alice-1', { action: 'sendMessage', message: 'hello' }, { userId: 'alice', roomId: 'lobby' }), deps);

    expect(result).toEqual({ statusCode: 200 });
    const expected = {
      action: 'message',
      message_id: 'msg-1',
      room_id: 'lobby',
      user_id: 'alice',
      message: 'hello',
      timestamp: '2030-01-02T03:04:05.678Z',
    };
    expect(fx.server.deliveredIds()).toEqual(['alice-1', 'bob-1', 'carol-1']);
    for (const id of ['alice-1', 'bob-1', 'carol-1']) expect(fx.server.deliveredTo(id)).toEqual([expected]);
    expect(fx.server.postsTo('dave-1')).toEqual([]);
  });

  test('a sender not yet in the room index (eventually consistent GSI) still gets its own message, once', async () => {
    const deps = await room([{ id: 'bob-1', room: 'lobby', user: 'bob' }]);
    // alice-1 just connected: its row is not in the index yet.
    await handleSendMessage(send('alice-1', { action: 'sendMessage', message: 'first!' }, { userId: 'alice', roomId: 'lobby' }), deps);
    expect(fx.server.deliveredIds()).toEqual(['alice-1', 'bob-1']);
    expect(fx.server.postsTo('alice-1')).toHaveLength(1);
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

  test('expired rows are skipped and 410s are cleaned up during a broadcast', async () => {
    const deps = await room([
      { id: 'live', room: 'lobby' },
      { id: 'gone', room: 'lobby' },
      { id: 'expired', room: 'lobby', ttl: Math.floor(NOW / 1000) - 1 },
    ]);
    fx.server.script('gone', 410);
    await handleSendMessage(send('live', { message: 'x' }), deps);
    expect(fx.server.deliveredIds()).toEqual(['live']);
    expect(fx.server.postsTo('expired')).toEqual([]);
    expect(await allConnectionIds(fx.dynamo.client, deps.config.tableName)).toEqual(['expired', 'live']);
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
    ['a non-string room_id', 'INVALID_MESSAGE', { action: 'sendMessage', message: 'hi', room_id: 3 }],
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
    expect(deps.logs.records).toEqual([expect.objectContaining({ event: 'sendMessage', outcome: 'rejected', code, recipients: 0, delivered: 1 })]);
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

  test('a 410 on the sender deletes its row', async () => {
    const deps = await room([{ id: 'me', room: 'lobby' }, { id: 'other', room: 'lobby' }]);
    fx.server.script('me', 410);
    expect(await handleSendMessage(send('me', 'nope'), deps)).toEqual({ statusCode: 200 });
    expect(await allConnectionIds(fx.dynamo.client, deps.config.tableName)).toEqual(['other']);
    expect(deps.logs.records[0]).toMatchObject({ outcome: 'rejected', gone: 1, ConnectionsGone: 1 });
  });

  test('an unreachable sender never makes the handler throw', async () => {
    const deps = await room([{ id: 'me', room: 'lobby' }], { POST_TIMEOUT_MS: '100' });
    fx.server.script('me', 'hang');
    expect(await handleSendMessage(send('me', 'nope'), deps)).toEqual({ statusCode: 200 });
    expect(fx.server.postsTo('me')).toHaveLength(3);
    expect(deps.logs.records[0]).toMatchObject({ outcome: 'rejected', failed: 1 });
  });
});

test('without an authorizer context nothing is posted (403)', async () => {
  const deps = await room([{ id: 'me', room: 'lobby' }]);
  expect(await handleSendMessage(routeEvent({ connectionId: 'me', body: '{"message":"hi"}', authorizer: null }), deps)).toEqual({ statusCode: 403 });
  expect(fx.server.received).toEqual([]);
});

test('a failed Query is logged with the partial counts and rethrown (a Lambda error, not a silent loss)', async () => {
  const deps = await room([]);
  const dynamo = new DynamoDBClient({ region: 'us-east-1' });
  const mock = mockClient(dynamo);
  mock.on(QueryCommand).rejects(new InternalServerError({ message: 'boom', $metadata: { httpStatusCode: 500 } }));
  await expect(handleSendMessage(send('me', { message: 'hi' }), { ...deps, dynamo })).rejects.toBeInstanceOf(FanoutQueryError);
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

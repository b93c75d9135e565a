import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { membershipItem } from '../../../src/handlers/lib/connections-store';
import { nextSeq } from '../../../src/handlers/lib/history-store';
import { handleJoin } from '../../../src/handlers/lib/join';
import { DEFAULTS, shardOf, TABLE } from '../../../src/shared/contract';
import { allItems, roomsOf, type SeedRow } from '../../support/connections-table';
import { routeEvent, startHandlerFixture, type FixtureDeps, type HandlerFixture } from '../../support/handler-fixture';

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterEach(() => fx.server.reset());
afterAll(() => fx.close());

const NOW = Date.parse('2030-01-02T03:04:05.678Z');
const NOW_S = Math.floor(NOW / 1000);

async function setup(rows: SeedRow[] = [], env: Record<string, string> = {}): Promise<FixtureDeps> {
  return fx.depsAt(NOW, rows, env);
}

function join(connectionId: string, frame: unknown, options: { userId?: string; rooms?: '*' | string[]; connectedAt?: number } = {}) {
  return routeEvent({
    connectionId,
    routeKey: 'join',
    body: typeof frame === 'string' ? frame : JSON.stringify(frame),
    connectedAt: NOW - 60_000,
    ...options,
  });
}

const itemsOf = async (deps: FixtureDeps) => (await allItems(fx.dynamo.client, deps.config.tableName))
  .map((item) => `${item[TABLE.partitionKey].S}|${item[TABLE.sortKey].S}`)
  .sort();

describe('join', () => {
  test('writes the membership item (room, user, shard, ttl from connectedAt) and answers joined with latest_seq 0 and the request_id', async () => {
    const deps = await setup([{ id: 'alice-1', user: 'alice' }]);

    const result = await handleJoin(join('alice-1', { action: 'join', room_id: 'r2', request_id: 'q-1' }), deps);

    expect(result).toEqual({ statusCode: 200 });
    const items = await allItems(fx.dynamo.client, deps.config.tableName);
    const membership = items.find((i) => i[TABLE.sortKey].S === 'room#r2');
    expect(membership).toEqual({
      [TABLE.partitionKey]: { S: 'alice-1' },
      [TABLE.sortKey]: { S: 'room#r2' },
      [TABLE.roomId]: { S: 'r2' },
      [TABLE.userId]: { S: 'alice' },
      [TABLE.shard]: { N: String(shardOf('alice-1')) },
      [TABLE.ttl]: { N: String(Math.floor((NOW - 60_000) / 1000) + DEFAULTS.connectionTtlSeconds) },
    });
    expect(fx.server.deliveredTo('alice-1')).toEqual([{ action: 'joined', room_id: 'r2', latest_seq: 0, request_id: 'q-1' }]);
    expect(deps.logs.records).toEqual([expect.objectContaining({ level: 'info', event: 'join', outcome: 'joined', roomId: 'r2', userId: 'alice', added: true, post: 'delivered' })]);
  });

  test('the ttl follows CONNECTION_TTL_SECONDS, and the clock when connectedAt is absent', async () => {
    const deps = await setup([], { CONNECTION_TTL_SECONDS: '600' });
    const event = join('c-1', { room_id: 'r' });
    const withoutConnectedAt = { ...event, requestContext: { ...event.requestContext, connectedAt: undefined } };
    await handleJoin(withoutConnectedAt, deps);
    const [item] = await allItems(fx.dynamo.client, deps.config.tableName);
    expect(item[TABLE.ttl]).toEqual({ N: String(NOW_S + 600) });
  });

  test('latest_seq is the room\'s counter after messages, per room', async () => {
    const deps = await setup();
    for (let i = 0; i < 4; i++) await nextSeq(fx.dynamo.client, deps.config.messagesTable!, 'busy');
    await nextSeq(fx.dynamo.client, deps.config.messagesTable!, 'other');

    await handleJoin(join('c-1', { room_id: 'busy' }), deps);
    await handleJoin(join('c-1', { room_id: 'quiet' }), deps);

    expect(fx.server.deliveredTo('c-1')).toEqual([
      { action: 'joined', room_id: 'busy', latest_seq: 4 },
      { action: 'joined', room_id: 'quiet', latest_seq: 0 },
    ]);
  });

  test('is idempotent: a second join writes nothing new and gets the same answer, with no second presence event', async () => {
    const deps = await setup([{ id: 'bob-1', user: 'bob', room: 'r' }]);
    const frame = { action: 'join', room_id: 'r', request_id: 'same' };

    await handleJoin(join('alice-1', frame, { userId: 'alice' }), deps);
    const before = await allItems(fx.dynamo.client, deps.config.tableName);
    await handleJoin(join('alice-1', frame, { userId: 'alice' }), deps);
    const after = await allItems(fx.dynamo.client, deps.config.tableName);

    expect(after).toEqual(before);
    expect(await roomsOf(fx.dynamo.client, deps.config.tableName, 'alice-1')).toEqual(['r']);
    const [first, second] = fx.server.deliveredTo('alice-1');
    expect(second).toEqual(first);
    expect(first).toEqual({ action: 'joined', room_id: 'r', latest_seq: 0, request_id: 'same' });
    expect(fx.server.deliveredTo('bob-1')).toEqual([{ action: 'member_joined', room_id: 'r', user_id: 'alice' }]);
    expect(deps.logs.records.map((r) => r.added)).toEqual([true, false]);
  });

  test('an expired membership item is written anew', async () => {
    const deps = await setup([{ id: 'c-1', room: 'r', ttl: NOW_S - 1 }]);
    await handleJoin(join('c-1', { room_id: 'r' }, { userId: 'user-c-1' }), deps);
    const item = (await allItems(fx.dynamo.client, deps.config.tableName)).find((i) => i[TABLE.sortKey].S === 'room#r');
    expect(Number(item![TABLE.ttl].N)).toBeGreaterThan(NOW_S);
    expect(deps.logs.records[0]).toMatchObject({ added: true });
  });

  test('base64-flagged bodies are decoded', async () => {
    const deps = await setup();
    const event = { ...join('c-1', ''), body: Buffer.from('{"room_id":"b64"}').toString('base64'), isBase64Encoded: true };
    await handleJoin(event, deps);
    expect(fx.server.deliveredTo('c-1')).toEqual([{ action: 'joined', room_id: 'b64', latest_seq: 0 }]);
  });

  test('with history off, joined carries no latest_seq', async () => {
    const deps = await setup([], { MESSAGES_TABLE: '' });
    expect(deps.config.messagesTable).toBeUndefined();
    await handleJoin(join('c-1', { room_id: 'r', request_id: 'x' }), deps);
    const [answer] = fx.server.deliveredTo('c-1');
    expect(answer).toEqual({ action: 'joined', room_id: 'r', request_id: 'x' });
    expect('latest_seq' in answer).toBe(false);
    expect(await roomsOf(fx.dynamo.client, deps.config.tableName, 'c-1')).toEqual(['r']);
  });
});

describe('refused joins write nothing', () => {
  test.each<[string, '*' | string[] | undefined, string, boolean]>([
    ['a room outside the claim', ['a', 'b'], 'c', false],
    ['a room in the claim', ['a', 'b'], 'b', true],
    ['"*"', '*', 'anything', true],
    ['an empty claim', [], 'a', false],
    ['no claim (rooms not restricted)', undefined, 'anything', true],
  ])('rooms claim: %s', async (_what, rooms, roomId, allowed) => {
    const deps = await setup([{ id: 'c-1' }]);
    const before = await itemsOf(deps);
    await handleJoin(join('c-1', { room_id: roomId, request_id: 'r-9' }, { rooms }), deps);
    if (allowed) {
      expect(fx.server.deliveredTo('c-1')).toEqual([{ action: 'joined', room_id: roomId, latest_seq: 0, request_id: 'r-9' }]);
      expect(await roomsOf(fx.dynamo.client, deps.config.tableName, 'c-1')).toEqual([roomId]);
    } else {
      expect(fx.server.deliveredTo('c-1')).toEqual([{ action: 'error', code: 'FORBIDDEN_ROOM', message: expect.stringContaining(roomId), request_id: 'r-9' }]);
      expect(await itemsOf(deps)).toEqual(before);
      expect(deps.logs.records[0]).toMatchObject({ outcome: 'rejected', code: 'FORBIDDEN_ROOM' });
    }
  });

  test('TOO_MANY_ROOMS at MAX_ROOMS_PER_CONNECTION; a room it is already in still answers joined', async () => {
    const deps = await setup([{ id: 'c-1', rooms: ['a', 'b'] }], { MAX_ROOMS_PER_CONNECTION: '2' });
    const before = await itemsOf(deps);

    await handleJoin(join('c-1', { room_id: 'c', request_id: 'n' }), deps);
    await handleJoin(join('c-1', { room_id: 'b' }), deps);

    expect(fx.server.deliveredTo('c-1')).toEqual([
      { action: 'error', code: 'TOO_MANY_ROOMS', message: expect.stringContaining('2'), request_id: 'n' },
      { action: 'joined', room_id: 'b', latest_seq: 0 },
    ]);
    expect(await itemsOf(deps)).toEqual(before);
  });

  test('below the cap a join is accepted; expired memberships do not count', async () => {
    const deps = await setup([{ id: 'c-1', rooms: ['a'] }], { MAX_ROOMS_PER_CONNECTION: '2' });
    // A membership that expired (DynamoDB has not deleted it yet).
    await fx.dynamo.client.send(new PutItemCommand({ TableName: deps.config.tableName, Item: membershipItem('c-1', 'old', 'user-c-1', NOW_S - 5) }));

    await handleJoin(join('c-1', { room_id: 'b' }), deps);
    await handleJoin(join('c-1', { room_id: 'c' }), deps);

    expect(fx.server.deliveredTo('c-1').map((f) => f.action === 'error' ? f.code : f.room_id)).toEqual(['b', 'TOO_MANY_ROOMS']);
    expect(await roomsOf(fx.dynamo.client, deps.config.tableName, 'c-1')).toEqual(['a', 'b', 'old']);
  });

  test.each<[string, string, unknown]>([
    ['a missing room_id', 'INVALID_ROOM', { action: 'join' }],
    ['an empty room_id', 'INVALID_ROOM', { room_id: '' }],
    ['a space', 'INVALID_ROOM', { room_id: 'a b' }],
    ['129 characters', 'INVALID_ROOM', { room_id: 'x'.repeat(129) }],
    ['a slash', 'INVALID_ROOM', { room_id: 'a/b' }],
    ['a number', 'INVALID_ROOM', { room_id: 7 }],
    ['null', 'INVALID_ROOM', { room_id: null }],
    ['not JSON', 'INVALID_JSON', '{"room_id":'],
    ['an array', 'INVALID_MESSAGE', '["r"]'],
    ['a request_id over 64 characters', 'INVALID_MESSAGE', { room_id: 'r', request_id: 'x'.repeat(65) }],
  ])('%s → %s', async (_what, code, frame) => {
    const deps = await setup([{ id: 'c-1' }, { id: 'other', room: 'r' }]);
    const before = await itemsOf(deps);
    await handleJoin(join('c-1', frame), deps);
    expect(fx.server.deliveredTo('c-1')).toEqual([expect.objectContaining({ action: 'error', code })]);
    expect(fx.server.postsTo('other')).toEqual([]);
    expect(await itemsOf(deps)).toEqual(before);
  });

  test('128 characters of every allowed kind is a valid room id', async () => {
    const deps = await setup();
    const roomId = `${'Az09_.:-'.repeat(16)}`;
    expect(roomId).toHaveLength(128);
    await handleJoin(join('c-1', { room_id: roomId }), deps);
    expect(fx.server.deliveredTo('c-1')).toEqual([{ action: 'joined', room_id: roomId, latest_seq: 0 }]);
  });

  test('the error echoes a valid request_id', async () => {
    const deps = await setup();
    await handleJoin(join('c-1', { room_id: 'bad room', request_id: 'abc' }), deps);
    expect(fx.server.deliveredTo('c-1')).toEqual([{ action: 'error', code: 'INVALID_ROOM', message: expect.any(String), request_id: 'abc' }]);
  });

  test('without an authorizer context: 403, nothing posted or written', async () => {
    const deps = await setup();
    const result = await handleJoin(routeEvent({ connectionId: 'c-1', body: '{"room_id":"r"}', authorizer: null }), deps);
    expect(result).toEqual({ statusCode: 403 });
    expect(fx.server.received).toEqual([]);
    expect(await itemsOf(deps)).toEqual([]);
  });

  test('a malformed rooms claim in the context is not trusted (403)', async () => {
    const deps = await setup();
    const result = await handleJoin(routeEvent({ connectionId: 'c-1', body: '{"room_id":"r"}', authorizer: { userId: 'alice', rooms: '{not json' } }), deps);
    expect(result).toEqual({ statusCode: 403 });
    expect(await itemsOf(deps)).toEqual([]);
  });
});

describe('failures', () => {
  test('the membership cannot be written: the error is logged and thrown (a Lambda error)', async () => {
    const deps = await setup();
    const broken = { ...deps, config: { ...deps.config, tableName: 'no-such-table' } };
    await expect(handleJoin(join('c-1', { room_id: 'r' }), broken)).rejects.toThrow();
    expect(deps.logs.records).toEqual([expect.objectContaining({ level: 'error', event: 'join', outcome: 'error', errorName: 'ResourceNotFoundException' })]);
    expect(fx.server.received).toEqual([]);
  });

  test('the latest seq cannot be read: the member is added and told UNAVAILABLE (join again: idempotent)', async () => {
    const deps = await setup();
    const broken = { ...deps, config: { ...deps.config, messagesTable: 'no-such-messages-table' } };
    await handleJoin(join('c-1', { room_id: 'r', request_id: 'u' }), broken);
    expect(fx.server.deliveredTo('c-1')).toEqual([{ action: 'error', code: 'UNAVAILABLE', message: expect.any(String), request_id: 'u' }]);
    expect(await roomsOf(fx.dynamo.client, deps.config.tableName, 'c-1')).toEqual(['r']);

    await handleJoin(join('c-1', { room_id: 'r', request_id: 'u' }), deps);
    expect(fx.server.deliveredTo('c-1')[1]).toEqual({ action: 'joined', room_id: 'r', latest_seq: 0, request_id: 'u' });
  });

  test('a joiner whose answer gets 410 is cleaned up, and the handler still succeeds', async () => {
    const deps = await setup([{ id: 'c-1' }]);
    fx.server.script('c-1', 410);
    expect(await handleJoin(join('c-1', { room_id: 'r' }), deps)).toEqual({ statusCode: 200 });
    expect(await itemsOf(deps)).toEqual([]);
    expect(deps.logs.records[0]).toMatchObject({ post: 'gone' });
  });
});

describe('member_joined', () => {
  const room = (extra: SeedRow[] = []): SeedRow[] => [
    { id: 'bob-1', user: 'bob', room: 'r' },
    { id: 'carol-1', user: 'carol', room: 'r' },
    { id: 'elsewhere', user: 'eve', room: 'other' },
    ...extra,
  ];

  test('is told to the other members when a user\'s first connection joins, never to the joiner or other rooms', async () => {
    const deps = await setup(room());
    await handleJoin(join('dave-1', { room_id: 'r', request_id: 'j' }, { userId: 'dave' }), deps);

    const event = { action: 'member_joined', room_id: 'r', user_id: 'dave' };
    expect(fx.server.deliveredTo('bob-1')).toEqual([event]);
    expect(fx.server.deliveredTo('carol-1')).toEqual([event]);
    expect(fx.server.deliveredTo('dave-1')).toEqual([{ action: 'joined', room_id: 'r', latest_seq: 0, request_id: 'j' }]);
    expect(fx.server.postsTo('elsewhere')).toEqual([]);
    expect(deps.logs.records[0]).toMatchObject({ presencePosts: 2 });
  });

  test('is not told when the user already has a connection in the room', async () => {
    const deps = await setup(room([{ id: 'dave-1', user: 'dave', room: 'r' }]));
    await handleJoin(join('dave-2', { room_id: 'r' }, { userId: 'dave' }), deps);
    expect(fx.server.received.map((p) => p.connectionId)).toEqual(['dave-2']);
  });

  test('an expired connection of the same user does not count', async () => {
    const deps = await setup(room([{ id: 'dave-old', user: 'dave', room: 'r', ttl: NOW_S - 10 }]));
    await handleJoin(join('dave-2', { room_id: 'r' }, { userId: 'dave' }), deps);
    expect(fx.server.deliveredIds()).toEqual(['bob-1', 'carol-1', 'dave-2']);
    expect(fx.server.postsTo('dave-old')).toEqual([]);
  });

  test('alone in the room: nobody to tell', async () => {
    const deps = await setup();
    await handleJoin(join('dave-1', { room_id: 'empty' }, { userId: 'dave' }), deps);
    expect(fx.server.received.map((p) => p.connectionId)).toEqual(['dave-1']);
  });

  test.each([
    // [others already in the room, limit, told]
    [2, '3', true],
    [3, '3', false],
    [4, '3', false],
    [2, '0', false],
    [1, '1', false],
    [0, '1', false],
  ])('%i others, PRESENCE_EVENTS_MAX_CONNECTIONS=%s → told: %s', async (others, limit, told) => {
    const rows = Array.from({ length: others }, (_, i) => ({ id: `m-${i}`, user: `u-${i}`, room: 'r' }));
    const deps = await setup(rows, { PRESENCE_EVENTS_MAX_CONNECTIONS: limit });
    await handleJoin(join('dave-1', { room_id: 'r' }, { userId: 'dave' }), deps);
    for (const row of rows) {
      expect(fx.server.deliveredTo(row.id)).toEqual(told ? [{ action: 'member_joined', room_id: 'r', user_id: 'dave' }] : []);
    }
    expect(fx.server.deliveredTo('dave-1')).toEqual([{ action: 'joined', room_id: 'r', latest_seq: 0 }]);
  });

  test('a member that answers 410 is cleaned up; the join still succeeds', async () => {
    const deps = await setup(room());
    fx.server.script('bob-1', 410);
    await handleJoin(join('dave-1', { room_id: 'r' }, { userId: 'dave' }), deps);
    expect(await roomsOf(fx.dynamo.client, deps.config.tableName, 'bob-1')).toEqual([]);
    expect(fx.server.deliveredTo('carol-1')).toHaveLength(1);
    expect(fx.server.deliveredTo('dave-1')).toEqual([{ action: 'joined', room_id: 'r', latest_seq: 0 }]);
  });
});

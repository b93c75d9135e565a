import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { handlePresence } from '../../../src/handlers/lib/presence';
import { LIMITS, TABLE } from '../../../src/shared/contract';
import { idRange, type SeedRow } from '../../support/connections-table';
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
  const deps = await fx.deps(env, { now: () => NOW });
  await seed(deps, rows);
  return deps;
}

const seed = (deps: FixtureDeps, rows: SeedRow[]) =>
  fx.seed(deps, rows, NOW);

function presence(connectionId: string, frame: unknown, userId = 'alice') {
  return routeEvent({ connectionId, routeKey: 'presence', userId, body: typeof frame === 'string' ? frame : JSON.stringify(frame) });
}

test('a member gets the distinct users (sorted) and the number of live connections', async () => {
  const deps = await setup([
    { id: 'alice-1', user: 'alice', room: 'r' },
    { id: 'zed-1', user: 'zed', room: 'r' },
    { id: 'bob-1', user: 'bob', room: 'r' },
    { id: 'bob-2', user: 'bob', room: 'r' },
    { id: 'Bea-1', user: 'Bea', room: 'r' },
    { id: 'other-1', user: 'other', room: 'elsewhere' },
  ]);

  const result = await handlePresence(presence('alice-1', { action: 'presence', room_id: 'r', request_id: 'p1' }), deps);

  expect(result).toEqual({ statusCode: 200 });
  expect(fx.server.deliveredTo('alice-1')).toEqual([{
    action: 'presence',
    room_id: 'r',
    users: ['Bea', 'alice', 'bob', 'zed'],
    connections: 5,
    truncated: false,
    request_id: 'p1',
  }]);
  // Only the asker is posted to.
  expect(fx.server.received.map((p) => p.connectionId)).toEqual(['alice-1']);
  expect(deps.logs.records).toEqual([expect.objectContaining({ event: 'presence', outcome: 'answered', users: 4, connections: 5, truncated: false })]);
});

test('expired membership items (ttl <= now) are not counted', async () => {
  const deps = await setup([
    { id: 'alice-1', user: 'alice', room: 'r' },
    { id: 'ghost-1', user: 'ghost', room: 'r', ttl: NOW_S },
    { id: 'ghost-2', user: 'ghost', room: 'r', ttl: NOW_S - 3600 },
    { id: 'bob-1', user: 'bob', room: 'r', ttl: NOW_S + 1 },
  ]);
  await handlePresence(presence('alice-1', { room_id: 'r' }), deps);
  expect(fx.server.deliveredTo('alice-1')).toEqual([{ action: 'presence', room_id: 'r', users: ['alice', 'bob'], connections: 2, truncated: false }]);
});

describe('members only', () => {
  test.each<[string, SeedRow[]]>([
    ['not in the room', [{ id: 'alice-1', user: 'alice', room: 'other' }, { id: 'bob-1', user: 'bob', room: 'r' }]],
    ['its membership expired', [{ id: 'alice-1', user: 'alice', room: 'r', ttl: NOW_S - 1 }, { id: 'bob-1', user: 'bob', room: 'r' }]],
    ['no items at all', [{ id: 'bob-1', user: 'bob', room: 'r' }]],
  ])('%s → ROOM_MISMATCH, and nothing about the room is told', async (_what, rows) => {
    const deps = await setup(rows);
    await handlePresence(presence('alice-1', { room_id: 'r', request_id: 'x' }), deps);
    expect(fx.server.deliveredTo('alice-1')).toEqual([{ action: 'error', code: 'ROOM_MISMATCH', message: expect.any(String), request_id: 'x' }]);
    expect(JSON.stringify(fx.server.deliveredTo('alice-1'))).not.toContain('bob');
    expect(deps.logs.records[0]).toMatchObject({ outcome: 'rejected', code: 'ROOM_MISMATCH' });
  });

  test.each<[string, string, unknown]>([
    ['no room_id', 'INVALID_ROOM', { action: 'presence' }],
    ['a malformed room_id', 'INVALID_ROOM', { room_id: '#r' }],
    ['not JSON', 'INVALID_JSON', 'presence'],
  ])('%s → %s', async (_what, code, frame) => {
    const deps = await setup([{ id: 'alice-1', user: 'alice', room: 'r' }]);
    await handlePresence(presence('alice-1', frame), deps);
    expect(fx.server.deliveredTo('alice-1')).toEqual([expect.objectContaining({ action: 'error', code })]);
  });

  test('without an authorizer context: 403, nothing posted', async () => {
    const deps = await setup([{ id: 'alice-1', user: 'alice', room: 'r' }]);
    expect(await handlePresence(routeEvent({ connectionId: 'alice-1', body: '{"room_id":"r"}', authorizer: null }), deps)).toEqual({ statusCode: 403 });
    expect(fx.server.received).toEqual([]);
  });
});

test('the asker is counted even while the room index does not list it yet', async () => {
  const deps = await setup([{ id: 'alice-1', user: 'alice', room: 'r' }, { id: 'bob-1', user: 'bob', room: 'r' }]);
  // The index lags (eventually consistent): a fault dynalite cannot produce, so the Query answers are filtered.
  const lagging = new DynamoDBClient({ region: 'us-east-1' });
  const mock = mockClient(lagging);
  mock.on(GetItemCommand).callsFake((input) => fx.dynamo.client.send(new GetItemCommand(input)));
  mock.on(QueryCommand).callsFake(async (input) => {
    const out = await fx.dynamo.client.send(new QueryCommand(input));
    const items = (out.Items ?? []).filter((item) => item[TABLE.partitionKey]?.S !== 'alice-1');
    return { ...out, Items: items, Count: items.length };
  });
  try {
    await handlePresence(presence('alice-1', { room_id: 'r' }), { ...deps, dynamo: lagging });
  } finally {
    mock.restore();
  }
  expect(fx.server.deliveredTo('alice-1')).toEqual([{ action: 'presence', room_id: 'r', users: ['alice', 'bob'], connections: 2, truncated: false }]);
});

test(`reads at most ${LIMITS.maxPresenceItems} membership items: exactly that many is complete, one more is truncated`, async () => {
  const max = LIMITS.maxPresenceItems;
  const members = idRange('m', max - 1).map((id) => ({ id, room: 'big', membershipOnly: true }));
  const deps = await setup([
    { id: 'alice-1', user: 'alice', room: 'big' },
    ...members,
    // Expired items are read but not counted.
    ...idRange('expired', 30).map((id) => ({ id, room: 'big', ttl: NOW_S - 60, membershipOnly: true })),
  ]);

  await handlePresence(presence('alice-1', { room_id: 'big' }), deps);
  const complete = fx.server.deliveredTo('alice-1')[0];
  expect(complete).toMatchObject({ connections: max, truncated: false });
  expect(complete.users).toHaveLength(max);
  expect(complete.users).toEqual([...complete.users].sort());

  fx.server.reset();
  await seed(deps, [{ id: 'one-more', room: 'big', membershipOnly: true }, { id: 'and-another', room: 'big', membershipOnly: true }]);
  await handlePresence(presence('alice-1', { room_id: 'big' }), deps);
  const truncated = fx.server.deliveredTo('alice-1')[0];
  expect(truncated).toMatchObject({ action: 'presence', room_id: 'big', connections: max, truncated: true });
  expect(truncated.users.length).toBeLessThanOrEqual(max);
  // Well within API Gateway's 128 KB answer limit.
  expect(Buffer.byteLength(JSON.stringify(truncated))).toBeLessThan(LIMITS.maxMessageBytes);
});

test('the answer stays under the 128 KB message limit: past ~120 KB of user ids the list is cut and truncated', async () => {
  // 1,000 users with 200-character ids: ~200 KB of ids, more than one message can carry.
  const rows = idRange('long', 1000).map((id) => ({ id, user: `${id}-${'u'.repeat(190)}`, room: 'r' }));
  const deps = await setup([{ id: 'me', user: 'alice', room: 'r' }, ...rows.slice(0, 999)]);
  await handlePresence(presence('me', { action: 'presence', room_id: 'r' }), deps);
  const [answer] = fx.server.deliveredTo('me');
  expect(answer).toMatchObject({ action: 'presence', room_id: 'r', truncated: true, connections: 1000 });
  expect(answer.users.length).toBeLessThan(1000);
  expect(Buffer.byteLength(JSON.stringify(answer))).toBeLessThanOrEqual(LIMITS.maxHistoryAnswerBytes);
  expect(fx.server.postsTo('me')[0].reply).toBe(200);
});

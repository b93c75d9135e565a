import { handleJoin } from '../../../src/handlers/lib/join';
import { handleLeave } from '../../../src/handlers/lib/leave';
import { TABLE } from '../../../src/shared/contract';
import { allItems, getConnection, roomsOf, type SeedRow } from '../../support/connections-table';
import { routeEvent, startHandlerFixture, type FixtureDeps, type HandlerFixture } from '../../support/handler-fixture';

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterEach(() => fx.server.reset());
afterAll(() => fx.close());

const NOW = Date.parse('2030-01-02T03:04:05.678Z');

async function setup(rows: SeedRow[] = [], env: Record<string, string> = {}): Promise<FixtureDeps> {
  return fx.depsAt(NOW, rows, env);
}

function leave(connectionId: string, frame: unknown, userId = 'alice') {
  return routeEvent({ connectionId, routeKey: 'leave', userId, body: typeof frame === 'string' ? frame : JSON.stringify(frame) });
}

test('removes the membership only, and answers left with the request_id', async () => {
  const deps = await setup([{ id: 'alice-1', user: 'alice', rooms: ['r1', 'r2'] }]);

  const result = await handleLeave(leave('alice-1', { action: 'leave', room_id: 'r1', request_id: 'bye' }), deps);

  expect(result).toEqual({ statusCode: 200 });
  expect(fx.server.deliveredTo('alice-1')).toEqual([{ action: 'left', room_id: 'r1', request_id: 'bye' }]);
  expect(await roomsOf(fx.dynamo.client, deps.config.tableName, 'alice-1')).toEqual(['r2']);
  expect(await getConnection(fx.dynamo.client, deps.config.tableName, 'alice-1')).toBeDefined();
  expect(deps.logs.records).toEqual([expect.objectContaining({ event: 'leave', outcome: 'left', roomId: 'r1', wasMember: true })]);
});

test('is idempotent: leaving a room it is not in answers left and changes nothing', async () => {
  const deps = await setup([{ id: 'alice-1', user: 'alice', room: 'r1' }, { id: 'bob-1', user: 'bob', room: 'r9' }]);
  const before = await allItems(fx.dynamo.client, deps.config.tableName);

  await handleLeave(leave('alice-1', { room_id: 'r9' }), deps);
  await handleLeave(leave('alice-1', { room_id: 'r9' }), deps);

  expect(fx.server.deliveredTo('alice-1')).toEqual([{ action: 'left', room_id: 'r9' }, { action: 'left', room_id: 'r9' }]);
  expect(fx.server.postsTo('bob-1')).toEqual([]);
  expect(await allItems(fx.dynamo.client, deps.config.tableName)).toEqual(before);
  expect(deps.logs.records.map((r) => r.wasMember)).toEqual([false, false]);
});

test('leave then join again', async () => {
  const deps = await setup([{ id: 'alice-1', user: 'alice', room: 'r1' }]);
  await handleLeave(leave('alice-1', { room_id: 'r1' }), deps);
  await handleJoin(routeEvent({ connectionId: 'alice-1', routeKey: 'join', body: '{"room_id":"r1"}', connectedAt: NOW }), deps);
  expect(await roomsOf(fx.dynamo.client, deps.config.tableName, 'alice-1')).toEqual(['r1']);
  expect(fx.server.deliveredTo('alice-1').map((f) => f.action)).toEqual(['left', 'joined']);
});

describe('member_left', () => {
  test('is told to the other members when the user\'s last connection leaves, not to the leaver', async () => {
    const deps = await setup([
      { id: 'alice-1', user: 'alice', room: 'r' },
      { id: 'bob-1', user: 'bob', room: 'r' },
      { id: 'carol-1', user: 'carol', room: 'r' },
      { id: 'dave-1', user: 'dave', room: 'other' },
    ]);
    await handleLeave(leave('alice-1', { room_id: 'r' }), deps);
    const event = { action: 'member_left', room_id: 'r', user_id: 'alice' };
    expect(fx.server.deliveredTo('bob-1')).toEqual([event]);
    expect(fx.server.deliveredTo('carol-1')).toEqual([event]);
    expect(fx.server.deliveredTo('alice-1')).toEqual([{ action: 'left', room_id: 'r' }]);
    expect(fx.server.postsTo('dave-1')).toEqual([]);
    expect(deps.logs.records[0]).toMatchObject({ presencePosts: 2 });
  });

  test('is not told while another connection of the same user stays in the room', async () => {
    const deps = await setup([
      { id: 'alice-1', user: 'alice', room: 'r' },
      { id: 'alice-2', user: 'alice', room: 'r' },
      { id: 'bob-1', user: 'bob', room: 'r' },
    ]);
    await handleLeave(leave('alice-1', { room_id: 'r' }), deps);
    expect(fx.server.received.map((p) => p.connectionId)).toEqual(['alice-1']);

    // Then the last one leaves.
    await handleLeave(leave('alice-2', { room_id: 'r' }), deps);
    expect(fx.server.deliveredTo('bob-1')).toEqual([{ action: 'member_left', room_id: 'r', user_id: 'alice' }]);
  });

  test('a second leave (not a member any more) tells no one', async () => {
    const deps = await setup([{ id: 'alice-1', user: 'alice', room: 'r' }, { id: 'bob-1', user: 'bob', room: 'r' }]);
    await handleLeave(leave('alice-1', { room_id: 'r' }), deps);
    await handleLeave(leave('alice-1', { room_id: 'r' }), deps);
    expect(fx.server.deliveredTo('bob-1')).toHaveLength(1);
  });

  test.each([
    // [others staying, limit, told]
    [2, '3', true],
    [3, '3', false],
    [2, '0', false],
  ])('%i others stay, PRESENCE_EVENTS_MAX_CONNECTIONS=%s → told: %s', async (others, limit, told) => {
    const rows = Array.from({ length: others }, (_, i) => ({ id: `m-${i}`, user: `u-${i}`, room: 'r' }));
    const deps = await setup([...rows, { id: 'alice-1', user: 'alice', room: 'r' }], { PRESENCE_EVENTS_MAX_CONNECTIONS: limit });
    await handleLeave(leave('alice-1', { room_id: 'r' }), deps);
    for (const row of rows) expect(fx.server.deliveredTo(row.id)).toEqual(told ? [{ action: 'member_left', room_id: 'r', user_id: 'alice' }] : []);
  });
});

describe('bad frames', () => {
  test.each<[string, string, unknown]>([
    ['no room_id', 'INVALID_ROOM', { action: 'leave' }],
    ['a malformed room_id', 'INVALID_ROOM', { room_id: 'no spaces' }],
    ['not JSON', 'INVALID_JSON', 'leave r'],
  ])('%s → %s, nothing removed', async (_what, code, frame) => {
    const deps = await setup([{ id: 'alice-1', user: 'alice', room: 'r' }]);
    await handleLeave(leave('alice-1', frame), deps);
    expect(fx.server.deliveredTo('alice-1')).toEqual([expect.objectContaining({ action: 'error', code })]);
    expect(await roomsOf(fx.dynamo.client, deps.config.tableName, 'alice-1')).toEqual(['r']);
  });

  test('without an authorizer context: 403 and nothing removed', async () => {
    const deps = await setup([{ id: 'alice-1', user: 'alice', room: 'r' }]);
    expect(await handleLeave(routeEvent({ connectionId: 'alice-1', body: '{"room_id":"r"}', authorizer: null }), deps)).toEqual({ statusCode: 403 });
    expect(fx.server.received).toEqual([]);
    expect(await roomsOf(fx.dynamo.client, deps.config.tableName, 'alice-1')).toEqual(['r']);
  });

  test('a failed delete is logged and thrown', async () => {
    const deps = await setup();
    await expect(handleLeave(leave('alice-1', { room_id: 'r' }), { ...deps, config: { ...deps.config, tableName: 'missing-table' } })).rejects.toThrow();
    expect(deps.logs.records).toEqual([expect.objectContaining({ level: 'error', outcome: 'error', roomId: 'r' })]);
    expect(fx.server.received).toEqual([]);
  });
});

test('the membership item keys are the contract\'s', async () => {
  const deps = await setup([{ id: 'alice-1', user: 'alice', room: 'r' }]);
  await handleLeave(leave('alice-1', { room_id: 'r' }), deps);
  const items = await allItems(fx.dynamo.client, deps.config.tableName);
  expect(items.map((i) => i[TABLE.sortKey].S)).toEqual([TABLE.connectionSk]);
});

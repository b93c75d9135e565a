import { announcePresence } from '../../../src/handlers/lib/presence-events';
import { roomsOf, type SeedRow } from '../../support/connections-table';
import { startHandlerFixture, type FixtureDeps, type HandlerFixture } from '../../support/handler-fixture';

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

const members = (n: number, room = 'r'): SeedRow[] => Array.from({ length: n }, (_, i) => ({ id: `m-${i}`, user: `u-${i}`, room }));

test('joined: member_joined to every other live member of the room, once each', async () => {
  const deps = await setup([...members(3), { id: 'new-1', user: 'newbie', room: 'r' }, { id: 'x', user: 'x', room: 'other' }]);
  const outcome = await announcePresence(deps, 'joined', 'r', 'newbie', 'new-1');
  expect(outcome).toEqual({ posted: 3 });
  for (const id of ['m-0', 'm-1', 'm-2']) expect(fx.server.postsTo(id).map((p) => JSON.parse(p.body))).toEqual([{ action: 'member_joined', room_id: 'r', user_id: 'newbie' }]);
  expect(fx.server.postsTo('new-1')).toEqual([]);
  expect(fx.server.postsTo('x')).toEqual([]);
});

test('left: member_left, the leaver not being in the room any more', async () => {
  const deps = await setup(members(2));
  expect(await announcePresence(deps, 'left', 'r', 'gone-user', 'gone-1')).toEqual({ posted: 2 });
  expect(fx.server.deliveredTo('m-0')).toEqual([{ action: 'member_left', room_id: 'r', user_id: 'gone-user' }]);
});

test.each<[string, SeedRow[], Record<string, string>, unknown]>([
  ['disabled (0)', members(2), { PRESENCE_EVENTS_MAX_CONNECTIONS: '0' }, { posted: 0, skipped: 'disabled' }],
  ['the room is over the limit', members(3), { PRESENCE_EVENTS_MAX_CONNECTIONS: '3' }, { posted: 0, skipped: 'room_too_large' }],
  ['the room is far over the limit (the read is bounded)', members(40), { PRESENCE_EVENTS_MAX_CONNECTIONS: '5' }, { posted: 0, skipped: 'room_too_large' }],
  ['the user has another connection there', [...members(2), { id: 'me-2', user: 'me', room: 'r' }], {}, { posted: 0, skipped: 'not_first_or_last' }],
  ['no one else', [], {}, { posted: 0, skipped: 'no_one_else' }],
  ['only expired others', members(2).map((m) => ({ ...m, ttl: NOW_S - 1 })), {}, { posted: 0, skipped: 'no_one_else' }],
])('nothing posted when %s', async (_what, rows, env, expected) => {
  const deps = await setup(rows, env);
  expect(await announcePresence(deps, 'joined', 'r', 'me', 'me-1')).toEqual(expected);
  expect(fx.server.received).toEqual([]);
});

test('at the limit (the joiner included) it is posted', async () => {
  const deps = await setup([...members(2), { id: 'me-1', user: 'me', room: 'r' }], { PRESENCE_EVENTS_MAX_CONNECTIONS: '3' });
  expect(await announcePresence(deps, 'joined', 'r', 'me', 'me-1')).toEqual({ posted: 2 });
});

test('a failure is logged and never thrown (best effort)', async () => {
  const deps = await setup(members(2));
  const outcome = await announcePresence({ ...deps, config: { ...deps.config, tableName: 'no-such-table' } }, 'joined', 'r', 'me', 'me-1');
  expect(outcome).toEqual({ posted: 0, skipped: 'error' });
  expect(deps.logs.records).toEqual([expect.objectContaining({ level: 'warn', event: 'presenceEvent', change: 'joined', roomId: 'r', outcome: 'error', errorName: 'ResourceNotFoundException' })]);
});

test('posts follow the fan-out rules: 410 removes the member, 429 is retried, 403 is not', async () => {
  const deps = await setup(members(4));
  fx.server.script('m-0', 410).script('m-1', 429, 200).script('m-2', 403);
  expect(await announcePresence(deps, 'joined', 'r', 'me', 'me-1')).toEqual({ posted: 2 });
  expect(await roomsOf(fx.dynamo.client, deps.config.tableName, 'm-0')).toEqual([]);
  expect(fx.server.postsTo('m-1').map((p) => p.reply)).toEqual([429, 200]);
  expect(fx.server.postsTo('m-2')).toHaveLength(1);
  expect(await roomsOf(fx.dynamo.client, deps.config.tableName, 'm-2')).toEqual(['r']);
});

test('nothing is posted past the invocation\'s deadline', async () => {
  const deps = await setup(members(3));
  // 500 ms left, of which 1 s is kept in reserve: no attempt fits.
  expect(await announcePresence(deps, 'joined', 'r', 'me', 'me-1', 500)).toEqual({ posted: 0 });
  expect(fx.server.received).toEqual([]);
});

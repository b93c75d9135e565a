import { connectionTtl, requireMember, resolveRoom } from '../../../src/handlers/lib/rooms';
import { seedConnections, type SeedRow } from '../../support/connections-table';
import { routeEvent, startHandlerFixture, type FixtureDeps, type HandlerFixture } from '../../support/handler-fixture';

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterAll(() => fx.close());

const NOW = Date.parse('2030-01-02T03:04:05.678Z');
const NOW_S = Math.floor(NOW / 1000);

async function setup(rows: SeedRow[] = [], env: Record<string, string> = {}): Promise<FixtureDeps> {
  return fx.depsAt(NOW, rows, env);
}

describe('resolveRoom', () => {
  test('a named room the connection is in', async () => {
    const deps = await setup([{ id: 'c', rooms: ['a', 'b'] }]);
    expect(await resolveRoom(deps, 'c', 'b', NOW_S)).toEqual({ ok: true, value: 'b' });
  });

  test('a named room it is not in → ROOM_MISMATCH with the request_id', async () => {
    const deps = await setup([{ id: 'c', rooms: ['a'] }, { id: 'other', room: 'b' }]);
    expect(await resolveRoom(deps, 'c', 'b', NOW_S, 'rq')).toEqual({
      ok: false,
      error: { action: 'error', code: 'ROOM_MISMATCH', message: expect.stringContaining('"b"'), request_id: 'rq' },
    });
  });

  test('a named room whose membership expired → ROOM_MISMATCH', async () => {
    const deps = await setup([{ id: 'c', room: 'a', ttl: NOW_S }]);
    expect(await resolveRoom(deps, 'c', 'a', NOW_S)).toMatchObject({ ok: false, error: { code: 'ROOM_MISMATCH' } });
    expect(await resolveRoom(deps, 'c', 'a', NOW_S - 1)).toEqual({ ok: true, value: 'a' });
  });

  test('no name: the only room', async () => {
    const deps = await setup([{ id: 'c', room: 'only' }, { id: 'd', rooms: ['x', 'y'] }]);
    expect(await resolveRoom(deps, 'c', undefined, NOW_S)).toEqual({ ok: true, value: 'only' });
  });

  test('no name, in several rooms → ROOM_MISMATCH that asks for a room_id', async () => {
    const deps = await setup([{ id: 'c', rooms: ['x', 'y', 'z'] }]);
    expect(await resolveRoom(deps, 'c', undefined, NOW_S, 'q')).toEqual({
      ok: false,
      error: { action: 'error', code: 'ROOM_MISMATCH', message: expect.stringContaining('room_id'), request_id: 'q' },
    });
  });

  test('no name, in no room → ROOM_MISMATCH that says join one', async () => {
    const deps = await setup([{ id: 'c' }]);
    expect(await resolveRoom(deps, 'c', undefined, NOW_S)).toMatchObject({ ok: false, error: { code: 'ROOM_MISMATCH', message: expect.stringContaining('join') } });
  });

  test('no name: expired memberships are not rooms it is in', async () => {
    const deps = await setup([{ id: 'c', room: 'live' }]);
    await seedConnections(fx.dynamo.client, deps.config.tableName, [{ id: 'c', rooms: ['dead-1', 'dead-2'], ttl: NOW_S - 1, membershipOnly: true }]);
    expect(await resolveRoom(deps, 'c', undefined, NOW_S)).toEqual({ ok: true, value: 'live' });
  });

  test('another connection\'s memberships never count', async () => {
    const deps = await setup([{ id: 'c' }, { id: 'c2', room: 'r' }, { id: 'c-', room: 'r' }]);
    expect(await resolveRoom(deps, 'c', undefined, NOW_S)).toMatchObject({ ok: false });
    expect(await resolveRoom(deps, 'c', 'r', NOW_S)).toMatchObject({ ok: false });
  });

  test('requireMember is the named check', async () => {
    const deps = await setup([{ id: 'c', room: 'a' }]);
    expect(await requireMember(deps, 'c', 'a', NOW_S)).toEqual({ ok: true, value: 'a' });
    expect(await requireMember(deps, 'c', 'b', NOW_S, 'r')).toMatchObject({ ok: false, error: { code: 'ROOM_MISMATCH', request_id: 'r' } });
  });
});

describe('connectionTtl', () => {
  const deps = { config: { connectionTtlSeconds: 7500 } } as FixtureDeps;
  const at = (connectedAt?: number) => routeEvent({ connectionId: 'c', connectedAt });

  test('the connect time plus the connection lifetime', () => {
    expect(connectionTtl(at(NOW - 3_600_000), deps, NOW)).toBe(Math.floor((NOW - 3_600_000) / 1000) + 7500);
  });

  test('the clock when connectedAt is absent or not a usable number', () => {
    expect(connectionTtl(at(), deps, NOW)).toBe(NOW_S + 7500);
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) expect(connectionTtl(at(bad), deps, NOW)).toBe(NOW_S + 7500);
  });

  test('a connectedAt in the future (clock skew) never extends the lifetime past now + lifetime', () => {
    expect(connectionTtl(at(NOW + 60_000), deps, NOW)).toBe(NOW_S + 7500);
  });
});

import { handleDefault } from '../../../src/handlers/lib/default-route';
import { handlePing } from '../../../src/handlers/lib/ping';
import { allConnectionIds, seedConnections } from '../../support/connections-table';
import { routeEvent, startHandlerFixture, type HandlerFixture } from '../../support/handler-fixture';

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterEach(() => fx.server.reset());
afterAll(() => fx.close());

describe('ping', () => {
  test('the sender alone gets a pong', async () => {
    const deps = await fx.deps();
    await seedConnections(fx.dynamo.client, deps.config.tableName, [{ id: 'me', room: 'lobby' }, { id: 'other', room: 'lobby' }]);
    expect(await handlePing(routeEvent({ connectionId: 'me', body: '{"action":"ping"}', routeKey: 'ping' }), deps)).toEqual({ statusCode: 200 });
    expect(fx.server.deliveredTo('me')).toEqual([{ action: 'pong' }]);
    expect(fx.server.postsTo('other')).toEqual([]);
    expect(deps.logs.records).toEqual([expect.objectContaining({ event: 'ping', connectionId: 'me', post: 'delivered', attempts: 1 })]);
  });

  test('a 410 deletes the sender row; a failure never throws', async () => {
    const deps = await fx.deps({ POST_TIMEOUT_MS: '1000', POST_MAX_ATTEMPTS: '2' });
    await seedConnections(fx.dynamo.client, deps.config.tableName, [{ id: 'gone', room: 'lobby' }, { id: 'stuck', room: 'lobby' }]);
    fx.server.script('gone', 410).script('stuck', 500);
    expect(await handlePing(routeEvent({ connectionId: 'gone' }), deps)).toEqual({ statusCode: 200 });
    expect(await handlePing(routeEvent({ connectionId: 'stuck' }), deps)).toEqual({ statusCode: 200 });
    expect(await allConnectionIds(fx.dynamo.client, deps.config.tableName)).toEqual(['stuck']);
    expect(fx.server.postsTo('stuck')).toHaveLength(2);
    expect(deps.logs.records.map((r) => r.post)).toEqual(['gone', 'failed']);
  });
});

describe('$default', () => {
  test('non-JSON → INVALID_JSON', async () => {
    const deps = await fx.deps();
    await handleDefault(routeEvent({ connectionId: 'me', body: 'hello?', routeKey: '$default' }), deps);
    expect(fx.server.deliveredTo('me')).toEqual([{ action: 'error', code: 'INVALID_JSON', message: expect.any(String) }]);
  });

  test('an unknown action → UNKNOWN_ACTION listing sendMessage and ping', async () => {
    const deps = await fx.deps();
    expect(await handleDefault(routeEvent({ connectionId: 'me', body: '{"action":"sendMesage","message":"hi"}' }), deps)).toEqual({ statusCode: 200 });
    const [frame] = fx.server.deliveredTo('me');
    expect(frame).toEqual({ action: 'error', code: 'UNKNOWN_ACTION', message: expect.stringContaining('sendMessage, ping') });
    expect(deps.logs.records[0]).toMatchObject({ event: 'default', code: 'UNKNOWN_ACTION', post: 'delivered' });
  });

  test('VALID_ACTIONS (app routes) is listed when set', async () => {
    const deps = await fx.deps({ VALID_ACTIONS: 'sendMessage,ping,typing' });
    await handleDefault(routeEvent({ connectionId: 'me', body: '{}' }), deps);
    expect(fx.server.deliveredTo('me')[0].message).toContain('sendMessage, ping, typing');
  });

  test('a missing body → INVALID_JSON', async () => {
    const deps = await fx.deps();
    await handleDefault(routeEvent({ connectionId: 'me', body: null }), deps);
    expect(fx.server.deliveredTo('me')[0].code).toBe('INVALID_JSON');
  });
});

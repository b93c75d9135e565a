import { handleConnect } from '../../../src/handlers/lib/connect';
import { handleDisconnect } from '../../../src/handlers/lib/disconnect';
import { allConnectionIds, getConnection, seedConnections } from '../../support/connections-table';
import { routeEvent, startHandlerFixture, type HandlerFixture } from '../../support/handler-fixture';

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterAll(() => fx.close());

describe('$connect', () => {
  test('writes the row from the authorizer context, with a 2 h + 5 min TTL', async () => {
    const deps = await fx.deps({}, { now: () => Date.parse('2024-05-01T12:00:00.000Z') });
    const result = await handleConnect(routeEvent({ connectionId: 'c-1=', userId: 'alice', roomId: 'lobby', routeKey: '$connect' }), deps);
    expect(result).toEqual({ statusCode: 200 });
    const row = await getConnection(fx.dynamo.client, deps.config.tableName, 'c-1=');
    expect(row).toEqual({
      connection_id: { S: 'c-1=' },
      room_id: { S: 'lobby' },
      user_id: { S: 'alice' },
      ttl: { N: String(Date.parse('2024-05-01T12:00:00.000Z') / 1000 + 7500) },
      created_at: { S: '2024-05-01T12:00:00.000Z' },
    });
    expect(deps.logs.records).toEqual([expect.objectContaining({ event: 'connect', outcome: 'connected', connectionId: 'c-1=', userId: 'alice', roomId: 'lobby' })]);
  });

  test('CONNECTION_TTL_SECONDS is honoured', async () => {
    const deps = await fx.deps({ CONNECTION_TTL_SECONDS: '600' }, { now: () => 1_000_000_000 });
    await handleConnect(routeEvent({ connectionId: 'c-2' }), deps);
    expect((await getConnection(fx.dynamo.client, deps.config.tableName, 'c-2'))?.ttl).toEqual({ N: String(1_000_000 + 600) });
  });

  test.each([
    ['no authorizer context', null],
    ['no userId', { roomId: 'lobby' }],
    ['an empty userId', { userId: '', roomId: 'lobby' }],
    ['no roomId', { userId: 'alice' }],
    ['a malformed roomId', { userId: 'alice', roomId: 'a/b' }],
    ['a non-string userId', { userId: 5, roomId: 'lobby' }],
  ])('%s is 403 and nothing is written', async (_what, authorizer) => {
    const deps = await fx.deps();
    const result = await handleConnect(routeEvent({ connectionId: 'c-3', authorizer }), deps);
    expect(result).toEqual({ statusCode: 403 });
    expect(await allConnectionIds(fx.dynamo.client, deps.config.tableName)).toEqual([]);
    expect(deps.logs.records[0]).toMatchObject({ level: 'warn', outcome: 'rejected', reason: 'missing_authorizer_context' });
  });

  test('a DynamoDB failure is thrown (API Gateway refuses the connection) and logged', async () => {
    const deps = await fx.deps({ CONNECTIONS_TABLE: 'no-such-table' });
    await expect(handleConnect(routeEvent({ connectionId: 'c-4' }), deps)).rejects.toThrow();
    expect(deps.logs.records[0]).toMatchObject({ level: 'error', event: 'connect', outcome: 'error', errorName: 'ResourceNotFoundException' });
  });
});

describe('$disconnect', () => {
  test('deletes only its row', async () => {
    const deps = await fx.deps();
    await seedConnections(fx.dynamo.client, deps.config.tableName, [{ id: 'd-1', room: 'lobby' }, { id: 'd-2', room: 'lobby' }]);
    expect(await handleDisconnect(routeEvent({ connectionId: 'd-1', routeKey: '$disconnect' }), deps)).toEqual({ statusCode: 200 });
    expect(await allConnectionIds(fx.dynamo.client, deps.config.tableName)).toEqual(['d-2']);
    expect(deps.logs.records[0]).toMatchObject({ event: 'disconnect', outcome: 'disconnected', connectionId: 'd-1' });
  });

  test('a missing row is fine (e.g. already removed after a 410)', async () => {
    const deps = await fx.deps();
    expect(await handleDisconnect(routeEvent({ connectionId: 'never-there' }), deps)).toEqual({ statusCode: 200 });
    expect(await handleDisconnect(routeEvent({ connectionId: 'never-there', authorizer: null }), deps)).toEqual({ statusCode: 200 });
  });

  test('a DynamoDB failure is logged and thrown (the row still goes with its TTL or the next 410)', async () => {
    const deps = await fx.deps({ CONNECTIONS_TABLE: 'no-such-table' });
    await expect(handleDisconnect(routeEvent({ connectionId: 'd-9' }), deps)).rejects.toThrow();
    expect(deps.logs.records[0]).toMatchObject({ level: 'error', event: 'disconnect', outcome: 'error', errorName: 'ResourceNotFoundException' });
  });

  test('connect then disconnect leaves the table empty', async () => {
    const deps = await fx.deps();
    await handleConnect(routeEvent({ connectionId: 'cd-1' }), deps);
    expect(await allConnectionIds(fx.dynamo.client, deps.config.tableName)).toEqual(['cd-1']);
    await handleDisconnect(routeEvent({ connectionId: 'cd-1' }), deps);
    expect(await allConnectionIds(fx.dynamo.client, deps.config.tableName)).toEqual([]);
  });
});

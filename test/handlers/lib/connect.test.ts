import { handleConnect } from '../../../src/handlers/lib/connect';
import { handleDisconnect } from '../../../src/handlers/lib/disconnect';
import { allConnectionIds, allItems, getConnection, roomsOf, seedConnections } from '../../support/connections-table';
import { routeEvent, startHandlerFixture, type HandlerFixture } from '../../support/handler-fixture';

let fx: HandlerFixture;
beforeAll(async () => {
  fx = await startHandlerFixture();
});
afterEach(() => fx.server.reset());
afterAll(() => fx.close());

describe('$connect', () => {
  test('writes the connection item and the handshake room from the authorizer context, with a 2 h + 5 min TTL', async () => {
    const deps = await fx.deps({}, { now: () => Date.parse('2024-05-01T12:00:00.000Z') });
    const result = await handleConnect(routeEvent({ connectionId: 'c-1=', userId: 'alice', roomId: 'lobby', routeKey: '$connect' }), deps);
    expect(result).toEqual({ statusCode: 200 });
    const ttl = String(Date.parse('2024-05-01T12:00:00.000Z') / 1000 + 7500);
    expect(await getConnection(fx.dynamo.client, deps.config.tableName, 'c-1=')).toEqual({
      connection_id: { S: 'c-1=' },
      sk: { S: 'connection' },
      user_id: { S: 'alice' },
      ttl: { N: ttl },
      created_at: { S: '2024-05-01T12:00:00.000Z' },
    });
    expect(await roomsOf(fx.dynamo.client, deps.config.tableName, 'c-1=')).toEqual(['lobby']);
    expect((await allItems(fx.dynamo.client, deps.config.tableName)).find((i) => i.sk.S === 'room#lobby')?.ttl).toEqual({ N: ttl });
    expect(deps.logs.records).toEqual([expect.objectContaining({ event: 'connect', outcome: 'connected', connectionId: 'c-1=', userId: 'alice', roomId: 'lobby' })]);
    // Nothing is posted to the new connection (API Gateway would answer 410 before the handshake completes).
    expect(fx.server.postsTo('c-1=')).toEqual([]);
  });

  test('no room at connect: only the connection item; the rooms claim is stored on it', async () => {
    const deps = await fx.deps();
    await handleConnect(routeEvent({ connectionId: 'c-5', userId: 'bob', rooms: ['a', 'b'] }), deps);
    expect(await roomsOf(fx.dynamo.client, deps.config.tableName, 'c-5')).toEqual([]);
    expect((await getConnection(fx.dynamo.client, deps.config.tableName, 'c-5'))?.rooms).toEqual({ S: '["a","b"]' });
  });

  test('the TTL counts from API Gateway\'s connectedAt when it is given', async () => {
    const deps = await fx.deps({}, { now: () => 2_000_000_000 });
    await handleConnect(routeEvent({ connectionId: 'c-6', roomId: 'r', connectedAt: 1_999_990_000 }), deps);
    expect((await getConnection(fx.dynamo.client, deps.config.tableName, 'c-6'))?.ttl).toEqual({ N: String(1_999_990 + 7500) });
  });

  test('the other members of a small room hear member_joined for the user\'s first connection only', async () => {
    const deps = await fx.deps();
    await seedConnections(fx.dynamo.client, deps.config.tableName, [{ id: 'bob-1', room: 'lobby', user: 'bob' }]);
    await handleConnect(routeEvent({ connectionId: 'al-1', userId: 'alice', roomId: 'lobby' }), deps);
    expect(fx.server.deliveredTo('bob-1')).toEqual([{ action: 'member_joined', room_id: 'lobby', user_id: 'alice' }]);
    await handleConnect(routeEvent({ connectionId: 'al-2', userId: 'alice', roomId: 'lobby' }), deps);
    expect(fx.server.deliveredTo('bob-1')).toHaveLength(1);
    expect(fx.server.postsTo('al-1')).toEqual([]);
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
    ['a malformed rooms claim', { userId: 'alice', rooms: '{nope' }],
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
  test('deletes every item of its connection, and only those', async () => {
    const deps = await fx.deps();
    await seedConnections(fx.dynamo.client, deps.config.tableName, [{ id: 'd-1', rooms: ['lobby', 'x', 'y'] }, { id: 'd-2', room: 'lobby' }]);
    expect(await handleDisconnect(routeEvent({ connectionId: 'd-1', routeKey: '$disconnect' }), deps)).toEqual({ statusCode: 200 });
    expect(await allConnectionIds(fx.dynamo.client, deps.config.tableName)).toEqual(['d-2']);
    expect(deps.logs.records[0]).toMatchObject({ event: 'disconnect', outcome: 'disconnected', connectionId: 'd-1' });
  });

  test('the last connection of a user leaving a small room: member_left to the others', async () => {
    const deps = await fx.deps();
    await seedConnections(fx.dynamo.client, deps.config.tableName, [
      { id: 'al-1', user: 'alice', rooms: ['lobby', 'den'] },
      { id: 'al-2', user: 'alice', room: 'den' },
      { id: 'bob-1', user: 'bob', rooms: ['lobby', 'den'] },
    ]);
    await handleDisconnect(routeEvent({ connectionId: 'al-1', userId: 'alice' }), deps);
    // alice is still in den through al-2: only lobby hears she left.
    expect(fx.server.deliveredTo('bob-1')).toEqual([{ action: 'member_left', room_id: 'lobby', user_id: 'alice' }]);
    expect(fx.server.postsTo('al-1')).toEqual([]);
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

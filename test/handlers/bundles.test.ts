import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { HANDLERS, MESSAGES_TABLE } from '../../src/shared/spec';
import { BundleRunner, HANDLERS_DIR } from '../support/bundle-runner';
import { ConnectionsServer } from '../support/connections-server';
import { allConnectionIds, getConnection, roomsOf, seedConnections } from '../support/connections-table';
import { LOCAL_AWS_ENV, startDynalite, type LocalDynamo } from '../support/dynalite';
import { startSecretsServer, type SecretsServer } from '../support/local-servers';
import { signToken } from '../support/tokens';

// `npx projen test` runs `bundle` first; these tests exercise the very files that ship in assets/.
const NAMES = HANDLERS.map((h) => h.bundle);
const SECRET = 'bundle-test-secret-0123456789abcdef';

let dynamo: LocalDynamo;
let server: ConnectionsServer;
let secrets: SecretsServer;
let runner: BundleRunner;
let table: string;
let messages: string;

beforeAll(async () => {
  for (const name of NAMES) {
    if (!existsSync(path.join(HANDLERS_DIR, `${name}.lambda`, 'index.js'))) {
      throw new Error(`assets/handlers/${name}.lambda/index.js is missing: run "npx projen bundle" first`);
    }
  }
  [dynamo, server, secrets] = await Promise.all([startDynalite(), ConnectionsServer.start('local'), startSecretsServer()]);
  table = await dynamo.newTable();
  messages = await dynamo.newTable('messages', MESSAGES_TABLE);
  secrets.put('chat-secret', SECRET);
  // Configured only through the environment, with no local-only code path: the SDK finds the local servers
  // through AWS_ENDPOINT_URL_<SERVICE>, and posts go to MANAGEMENT_ENDPOINT.
  runner = new BundleRunner({
    PATH: process.env.PATH ?? '',
    ...LOCAL_AWS_ENV,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    CONNECTIONS_TABLE: table,
    MESSAGES_TABLE: messages,
    MANAGEMENT_ENDPOINT: server.endpoint,
    AUTH_MODE: 'hs256',
    AUTH_SECRET_ARN: 'chat-secret',
    POST_BACKOFF_BASE_MS: '1',
  });
});
afterAll(async () => {
  await runner?.close();
  await Promise.all([server?.close(), dynamo?.close(), secrets?.close()]);
});

test.each(NAMES)('%s.lambda/index.js loads and exports a handler', async (name) => {
  expect(await runner.load(name)).toBe('function');
});

test('a whole session through the shipped bundles: authorize, connect, send, ping, $default, disconnect', async () => {
  await seedConnections(dynamo.client, table, [{ id: 'bob-conn', room: 'lobby', user: 'bob' }]);
  const token = await signToken(SECRET, { sub: 'alice' });
  const methodArn = 'arn:aws:execute-api:us-east-1:000000000000:local/local/$connect';

  const denied = await runner.invoke('authorizer', { methodArn, queryStringParameters: { token: 'nope', room_id: 'lobby' } });
  expect(denied).toMatchObject({ ok: false, error: { message: 'Unauthorized' } });

  const auth = await runner.invoke('authorizer', { methodArn, queryStringParameters: { token, room_id: 'lobby', user_id: 'admin' }, requestContext: { connectionId: 'alice-conn' } });
  expect(auth.ok).toBe(true);
  expect(auth.result).toMatchObject({ principalId: 'alice', context: { userId: 'alice', roomId: 'lobby' } });
  expect(auth.lines.join('\n')).not.toContain(token);

  const authorizer = { principalId: 'alice', ...auth.result.context, integrationLatency: 1 };
  const requestContext = (routeKey: string) => ({ connectionId: 'alice-conn', routeKey, apiId: 'localapi', stage: 'local', requestId: 'r', authorizer });

  expect((await runner.invoke('connect', { requestContext: requestContext('$connect') })).result).toEqual({ statusCode: 200 });
  expect(await getConnection(dynamo.client, table, 'alice-conn')).toMatchObject({ user_id: { S: 'alice' } });
  expect(await roomsOf(dynamo.client, table, 'alice-conn')).toEqual(['lobby']);

  const sent = await runner.invoke('send-message', { requestContext: requestContext('sendMessage'), body: JSON.stringify({ action: 'sendMessage', message: 'hi bob 👋' }) });
  expect(sent).toMatchObject({ ok: true, result: { statusCode: 200 } });
  // bob heard alice arrive (a small room), then her message.
  expect(server.deliveredTo('bob-conn')[0]).toEqual({ action: 'member_joined', room_id: 'lobby', user_id: 'alice' });
  for (const id of ['alice-conn', 'bob-conn']) {
    expect(server.deliveredTo(id).filter((f) => f.action === 'message')).toEqual([expect.objectContaining({ user_id: 'alice', room_id: 'lobby', seq: 1, message: 'hi bob 👋' })]);
  }
  const line = JSON.parse(sent.lines.find((l) => l.includes('"sendMessage"'))!);
  expect(line).toMatchObject({ event: 'sendMessage', recipients: 2, delivered: 2, ApiId: 'localapi', PostsDelivered: 2, _aws: { CloudWatchMetrics: [{ Namespace: 'WebSocketChat' }] } });

  server.reset();
  await runner.invoke('ping', { requestContext: requestContext('ping'), body: '{"action":"ping"}' });
  expect(server.deliveredTo('alice-conn')).toEqual([{ action: 'pong' }]);
  await runner.invoke('default', { requestContext: requestContext('$default'), body: '{"action":"dance"}' });
  expect(server.deliveredTo('alice-conn')[1]).toMatchObject({ action: 'error', code: 'UNKNOWN_ACTION' });
  await runner.invoke('send-message', { requestContext: requestContext('sendMessage'), body: '{"message":' });
  expect(server.deliveredTo('alice-conn')[2]).toMatchObject({ action: 'error', code: 'INVALID_JSON' });

  server.reset();
  await runner.invoke('join', { requestContext: requestContext('join'), body: '{"action":"join","room_id":"den","request_id":"j"}' });
  expect(server.deliveredTo('alice-conn')).toEqual([{ action: 'joined', room_id: 'den', latest_seq: 0, request_id: 'j' }]);
  await runner.invoke('history', { requestContext: requestContext('history'), body: '{"action":"history","room_id":"lobby","after_seq":0}' });
  expect(server.deliveredTo('alice-conn')[1]).toMatchObject({ action: 'history', room_id: 'lobby', latest_seq: 1, has_more: false, messages: [{ seq: 1, message: 'hi bob 👋' }] });
  await runner.invoke('presence', { requestContext: requestContext('presence'), body: '{"action":"presence","room_id":"lobby"}' });
  expect(server.deliveredTo('alice-conn')[2]).toEqual({ action: 'presence', room_id: 'lobby', users: ['alice', 'bob'], connections: 2, truncated: false });
  await runner.invoke('leave', { requestContext: requestContext('leave'), body: '{"action":"leave","room_id":"den"}' });
  expect(server.deliveredTo('alice-conn')[3]).toEqual({ action: 'left', room_id: 'den' });
  const published = await runner.invoke('publish', { user_id: 'bob', type: 'note', data: { n: 1 } });
  expect(published.result).toEqual({ delivered: 1, gone: 0, failed: 0 });
  expect(server.deliveredTo('bob-conn').at(-1)).toMatchObject({ action: 'event', type: 'note', data: { n: 1 } });

  expect((await runner.invoke('disconnect', { requestContext: requestContext('$disconnect') })).result).toEqual({ statusCode: 200 });
  expect(await allConnectionIds(dynamo.client, table)).toEqual(['bob-conn']);
  // The secret was read once for the whole session (module scope).
  expect(secrets.requests).toBe(1);
});

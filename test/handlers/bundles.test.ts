import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { BundleRunner, HANDLERS_DIR } from '../support/bundle-runner';
import { ConnectionsServer } from '../support/connections-server';
import { allConnectionIds, getConnection, seedConnections } from '../support/connections-table';
import { LOCAL_AWS_ENV, startDynalite, type LocalDynamo } from '../support/dynalite';
import { startSecretsServer, type SecretsServer } from '../support/local-servers';
import { signToken } from '../support/tokens';

// `npx projen test` runs `bundle` first; these tests exercise the very files that ship in assets/.
const NAMES = ['authorizer', 'connect', 'disconnect', 'send-message', 'default', 'ping'];
const SECRET = 'bundle-test-secret-0123456789abcdef';

let dynamo: LocalDynamo;
let server: ConnectionsServer;
let secrets: SecretsServer;
let runner: BundleRunner;
let table: string;

beforeAll(async () => {
  for (const name of NAMES) {
    if (!existsSync(path.join(HANDLERS_DIR, `${name}.lambda`, 'index.js'))) {
      throw new Error(`assets/handlers/${name}.lambda/index.js is missing: run "npx projen bundle" first`);
    }
  }
  [dynamo, server, secrets] = await Promise.all([startDynalite(), ConnectionsServer.start('local'), startSecretsServer()]);
  table = await dynamo.newTable();
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
  expect(await getConnection(dynamo.client, table, 'alice-conn')).toMatchObject({ user_id: { S: 'alice' }, room_id: { S: 'lobby' } });

  const sent = await runner.invoke('send-message', { requestContext: requestContext('sendMessage'), body: JSON.stringify({ action: 'sendMessage', message: 'hi bob 👋' }) });
  expect(sent).toMatchObject({ ok: true, result: { statusCode: 200 } });
  for (const id of ['alice-conn', 'bob-conn']) {
    expect(server.deliveredTo(id)).toEqual([expect.objectContaining({ action: 'message', user_id: 'alice', room_id: 'lobby', message: 'hi bob 👋' })]);
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

  expect((await runner.invoke('disconnect', { requestContext: requestContext('$disconnect') })).result).toEqual({ statusCode: 200 });
  expect(await allConnectionIds(dynamo.client, table)).toEqual(['bob-conn']);
  // The secret was read once for the whole session (module scope).
  expect(secrets.requests).toBe(1);
});

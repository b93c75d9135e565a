import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { setLocalAwsEnv } from '../support/aws-env';
import { ConnectionsServer } from '../support/connections-server';
import { allConnectionIds, seedConnections } from '../support/connections-table';
import { startDynalite, type LocalDynamo } from '../support/dynalite';
import { routeEvent } from '../support/handler-fixture';
import { startJwksServer, type LocalServer } from '../support/local-servers';
import { captureStdout } from '../support/log-capture';
import { signToken } from '../support/tokens';

// The `*.lambda.ts` entry points, configured only through process.env as in Lambda; each test loads fresh
// modules (a cold start).
type AnyHandler = (event: any, context?: any) => Promise<any>;

async function coldStart(name: string): Promise<AnyHandler> {
  let handler: AnyHandler | undefined;
  await jest.isolateModulesAsync(async () => {
    handler = ((await import(`../../src/handlers/${name}.lambda`)) as { handler: AnyHandler }).handler;
  });
  return handler!;
}

let dynamo: LocalDynamo;
let server: ConnectionsServer;
let jwks: LocalServer;
let rsa: { publicKey: CryptoKey; privateKey: CryptoKey };
let table: string;
const ROUTE_ENV = ['CONNECTIONS_TABLE', 'MANAGEMENT_ENDPOINT', 'AUTH_MODE', 'AUTH_JWKS_URL', 'AUTH_ISSUER'];

beforeAll(async () => {
  [dynamo, server, rsa] = await Promise.all([startDynalite(), ConnectionsServer.start('stage'), generateKeyPair('RS256', { extractable: true })]);
  const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256' };
  jwks = await startJwksServer(() => [jwk]);
  table = await dynamo.newTable();
  setLocalAwsEnv({ AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, POST_BACKOFF_BASE_MS: '1' });
});
beforeEach(() => {
  for (const name of ROUTE_ENV) delete process.env[name];
  server.reset();
});
afterAll(async () => {
  await Promise.all([server.close(), dynamo.close(), jwks.close()]);
});

function routeEnv(): void {
  process.env.CONNECTIONS_TABLE = table;
  process.env.MANAGEMENT_ENDPOINT = server.endpoint;
}

test('connect / sendMessage / disconnect entry points, through the environment only', async () => {
  routeEnv();
  const [connect, sendMessage, disconnect] = [await coldStart('connect'), await coldStart('send-message'), await coldStart('disconnect')];
  await seedConnections(dynamo.client, table, [{ id: 'peer', room: 'env-room' }]);

  const connected = await captureStdout(() => connect(routeEvent({ connectionId: 'me', userId: 'u1', roomId: 'env-room' }), { awsRequestId: 'a1' }));
  expect(connected.result).toEqual({ statusCode: 200 });
  expect(JSON.parse(connected.lines[0])).toMatchObject({ event: 'connect', requestId: 'a1', outcome: 'connected' });

  const sent = await captureStdout(() =>
    sendMessage(routeEvent({ connectionId: 'me', userId: 'u1', roomId: 'env-room', body: '{"action":"sendMessage","message":"env"}' }), {
      awsRequestId: 'a2',
      getRemainingTimeInMillis: () => 29_000,
    }),
  );
  expect(sent.result).toEqual({ statusCode: 200 });
  expect(server.deliveredIds()).toEqual(['me', 'peer']);
  expect(sent.lines).toHaveLength(1);
  expect(JSON.parse(sent.lines[0])).toMatchObject({ event: 'sendMessage', requestId: 'a2', recipients: 2, delivered: 2, Recipients: 2 });

  await captureStdout(() => disconnect(routeEvent({ connectionId: 'me' })));
  expect(await allConnectionIds(dynamo.client, table)).not.toContain('me');
});

test('a missing CONNECTIONS_TABLE / MANAGEMENT_ENDPOINT fails loudly at cold start', async () => {
  const connect = await coldStart('connect');
  await expect(connect(routeEvent({ connectionId: 'x' }))).rejects.toThrow(/CONNECTIONS_TABLE is not set/);
  process.env.CONNECTIONS_TABLE = table;
  const ping = await coldStart('ping');
  await expect(ping(routeEvent({ connectionId: 'x' }))).rejects.toThrow(/MANAGEMENT_ENDPOINT is not set/);
});

test('ping and $default entry points', async () => {
  routeEnv();
  const ping = await coldStart('ping');
  const fallback = await coldStart('default');
  await captureStdout(() => ping(routeEvent({ connectionId: 'p', body: '{"action":"ping"}' })));
  await captureStdout(() => fallback(routeEvent({ connectionId: 'p', body: 'what' })));
  expect(server.deliveredTo('p')).toEqual([{ action: 'pong' }, expect.objectContaining({ code: 'INVALID_JSON' })]);
});

test('authorizer entry point in jwks mode: the key set lives in module scope', async () => {
  process.env.AUTH_MODE = 'jwks';
  process.env.AUTH_JWKS_URL = jwks.url;
  process.env.AUTH_ISSUER = 'https://idp.example/';
  const authorizer = await coldStart('authorizer');
  const before = jwks.requests;
  for (const sub of ['a', 'b', 'c']) {
    const token = await signToken(rsa.privateKey, { sub, iss: 'https://idp.example/' }, { alg: 'RS256', kid: 'k1' });
    const out = await captureStdout(() => authorizer({ methodArn: 'arn:x', queryStringParameters: { token, room_id: 'r' } }));
    expect(out.result).toMatchObject({ principalId: sub, context: { userId: sub, roomId: 'r' } });
    expect(out.lines.join('')).not.toContain(token);
  }
  expect(jwks.requests - before).toBe(1);
  const bad = await captureStdout(() => authorizer({ methodArn: 'arn:x', queryStringParameters: { room_id: 'r' } }));
  expect((bad.error as Error).message).toBe('Unauthorized');
  expect(JSON.parse(bad.lines[0])).toMatchObject({ event: 'authorize', decision: 'unauthorized', reason: 'token_missing' });
});

test('authorizer entry point without AUTH_MODE fails closed (an error, never an Allow)', async () => {
  const authorizer = await coldStart('authorizer');
  await expect(authorizer({ methodArn: 'arn:x', queryStringParameters: { room_id: 'r' } })).rejects.toThrow(/AUTH_MODE/);
});

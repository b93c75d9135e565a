import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { startLocalGateway } from '../../src/local/gateway';
import { FIXTURE_HANDLERS, startTestGateway, type TestGateway } from '../support/local-gateway';
import { eventually, waitForEvent } from '../support/wait';
import { connectUrl, handshakeStatus, TestClient, type Frame } from '../support/ws-client';

/**
 * The gateway's own behaviour, against fake handler bundles that echo what they receive
 * (test/local/fixtures/handlers): handshake decisions, event shapes, route selection, errors, the
 * management API (through the real AWS SDK client), limits and timeouts.
 */

let gw: TestGateway;
const clients: TestClient[] = [];

let stateDir: string;

beforeAll(async () => {
  stateDir = mkdtempSync(path.join(tmpdir(), 'gateway-fixtures-'));
  gw = await startTestGateway({ handlersDir: FIXTURE_HANDLERS, handlerEnv: { FIXTURE_FLAG: 'set', FIXTURE_STATE_DIR: stateDir }, handlerTimeoutSeconds: 1 });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await gw?.close();
  rmSync(stateDir, { recursive: true, force: true });
});

async function connect(params: Record<string, string | undefined> = {}, base = gw): Promise<TestClient> {
  const client = await TestClient.connect(connectUrl(base.url, { room_id: 'lobby', token: 'allow:alice', ...params }), {
    headers: { 'User-Agent': 'gateway-test/1.0' },
  });
  clients.push(client);
  return client;
}

async function pong(client: TestClient): Promise<Frame> {
  const before = client.matching((f) => f.action === 'pong').length;
  client.send({ action: 'ping' });
  const frames = await client.waitFor((f) => f.action === 'pong', before + 1);
  return frames[before];
}

function sdk(endpoint = gw.managementEndpoint): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

describe('handshake', () => {
  test('an allowed connection reaches $connect with the API Gateway event shape and the authorizer context', async () => {
    const client = await connect({ extra: 'a', user_id: 'mallory' });
    const { connect: connected } = (await pong(client)) as unknown as {
      connect: { event: any; context: any; env: any };
    };
    const { event, context, env } = connected;
    expect(event.requestContext).toMatchObject({
      routeKey: '$connect',
      eventType: 'CONNECT',
      messageDirection: 'IN',
      stage: 'dev',
      apiId: 'local',
      domainName: `127.0.0.1:${gw.port}`,
      identity: { sourceIp: '127.0.0.1', userAgent: 'gateway-test/1.0' },
      // Numbers and booleans are stringified, as API Gateway does; principalId and integrationLatency are added.
      authorizer: { userId: 'alice', roomId: 'lobby', count: '42', flag: 'true', nothing: null, principalId: 'alice' },
    });
    expect(typeof event.requestContext.authorizer.integrationLatency).toBe('number');
    expect(event.requestContext.connectionId).toMatch(/^[A-Za-z0-9]{15}=$/);
    expect(event.requestContext.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(event.requestContext.requestTimeEpoch).toBeGreaterThanOrEqual(event.requestContext.connectedAt);
    expect(event.queryStringParameters).toEqual({ room_id: 'lobby', token: 'allow:alice', extra: 'a', user_id: 'mallory' });
    expect(event.multiValueQueryStringParameters.room_id).toEqual(['lobby']);
    expect(event.headers).toMatchObject({ 'User-Agent': 'gateway-test/1.0', 'X-Forwarded-For': '127.0.0.1' });
    expect(event.multiValueHeaders['User-Agent']).toEqual(['gateway-test/1.0']);
    expect(event.isBase64Encoded).toBe(false);
    expect(context).toMatchObject({ functionName: 'connect' });
    expect(context.remaining).toBeGreaterThan(0);
    // Configured through environment variables only: those of its spec (AUTH_MODE is the authorizer's alone).
    expect(env).toEqual({ table: gw.tableName, endpoint: gw.managementEndpoint, fixture: 'set' });
    expect(gw.functionEnv('authorizer')).toMatchObject({ AUTH_MODE: 'hs256', AUTH_SECRET_ARN: gw.secretArn });
    expect(gw.functionEnv('connect')).not.toHaveProperty('AUTH_MODE');
    expect(gw.functionEnv('connect')).toMatchObject({
      CONNECTIONS_TABLE: gw.tableName,
      MANAGEMENT_ENDPOINT: gw.managementEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: gw.dynamoEndpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: gw.secretsEndpoint,
      AWS_ENDPOINT_URL_LAMBDA: gw.lambdaEndpoint,
      AWS_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: 'connect',
    });
  });

  test('a missing identity source is 401 without calling the authorizer', async () => {
    const rejected = waitForEvent<{ statusCode: number; reason: string }>(gw.events, 'reject');
    expect(await handshakeStatus(connectUrl(gw.url, { room_id: 'lobby' }))).toBe(401);
    expect((await rejected).reason).toMatch(/identity source missing/);
  });

  test.each([
    ['unauthorized', 401],
    ['garbage', 401],
    ['deny', 403],
    ['nomatch', 403],
    ['throw', 500],
    ['badcontext', 500],
  ])('authorizer outcome %s → HTTP %i', async (token, status) => {
    expect(await handshakeStatus(connectUrl(gw.url, { room_id: 'lobby', token }))).toBe(status);
  });

  test('$connect answering non-2xx rejects with its status; throwing is 500', async () => {
    expect(await handshakeStatus(connectUrl(gw.url, { token: 'allow:a', connect_status: '418' }))).toBe(418);
    expect(await handshakeStatus(connectUrl(gw.url, { token: 'allow:a', connect_status: '403' }))).toBe(403);
    expect(await handshakeStatus(connectUrl(gw.url, { token: 'allow:a', connect_throw: '1' }))).toBe(500);
    expect(gw.connectionIds()).toEqual([]);
  });

  test('only /{stage} upgrades; other paths are 403', async () => {
    expect(await handshakeStatus(connectUrl(gw.url.replace(/\/dev$/, '/prod'), { token: 'allow:a' }))).toBe(403);
    expect(await handshakeStatus(connectUrl(`${gw.url}/deeper`, { token: 'allow:a' }))).toBe(403);
    const trailing = await TestClient.connect(connectUrl(`${gw.url}/`, { token: 'allow:a' }));
    await trailing.close();
  });

  test('plain HTTP: 426 on the stage, 403 elsewhere', async () => {
    expect((await httpCall('GET', `${gw.managementEndpoint}`)).status).toBe(426);
    const other = await httpCall('GET', `http://127.0.0.1:${gw.port}/nope`);
    expect(other.status).toBe(403);
    expect(JSON.parse(other.body)).toEqual({ message: 'Forbidden' });
  });

  test('a subprotocol is accepted when $connect answers Sec-WebSocket-Protocol', async () => {
    const client = await TestClient.connect(connectUrl(gw.url, { token: 'allow:a' }), { protocols: ['chat.v1', 'chat.v0'] } as never);
    clients.push(client);
    expect(client.ws.protocol).toBe('chat.v1');
  });
});

describe('routes', () => {
  test('route selection on $request.body.action, $default for the rest', async () => {
    const client = await connect();
    client.send({ action: 'sendMessage', message: 'hi' });
    const sent = await client.next('sent');
    expect(sent.message).toBe('hi');

    for (const body of ['not json', '{"action":"nope"}', '{"action":5}', '[1,2]', '{"action":"$connect"}', 'null']) {
      client.send(body);
    }
    const defaults = await client.waitFor((f) => f.action === 'default', 6);
    // (Several environments run them at once: the order of the answers is not the order of the frames.)
    expect(defaults.map((f) => (f.event as any).body).sort()).toEqual(['not json', '{"action":"nope"}', '{"action":5}', '[1,2]', '{"action":"$connect"}', 'null'].sort());
    expect(defaults.every((f) => (f.event as any).requestContext.routeKey === '$default')).toBe(true);
  });

  test('message events carry the request context and the authorizer context', async () => {
    const client = await connect({ token: 'allow:bob', room_id: 'r1' });
    client.send({ action: 'sendMessage', message: 'x' });
    const event = (await client.next('sent')).event as any;
    expect(event).toMatchObject({ body: '{"action":"sendMessage","message":"x"}', isBase64Encoded: false });
    expect(event.requestContext).toMatchObject({
      routeKey: 'sendMessage',
      eventType: 'MESSAGE',
      messageDirection: 'IN',
      stage: 'dev',
      apiId: 'local',
      identity: { sourceIp: '127.0.0.1' },
      authorizer: { userId: 'bob', roomId: 'r1', principalId: 'bob' },
    });
    expect(event.requestContext.messageId).toMatch(/=$/);
    expect(event.requestContext.requestId).toMatch(/=$/);
    expect(event.requestContext.extendedRequestId).toMatch(/=$/);
  });

  test('binary frames go to $default base64-encoded', async () => {
    const client = await connect();
    client.ws.send(Buffer.from('{"action":"ping"}'), { binary: true });
    const event = (await client.next('default')).event as any;
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body, 'base64').toString()).toBe('{"action":"ping"}');
  });

  test('a handler result body is not sent back; only @connections posts reach the client', async () => {
    const client = await connect();
    await pong(client);
    await pong(client);
    expect(client.frames.map((f) => f.action)).toEqual(['pong', 'pong']);
  });

  test('a throwing handler gives the internal-error frame and the gateway keeps serving', async () => {
    const client = await connect();
    const failed = waitForEvent(gw.events, 'handlerError');
    client.send({ action: 'sendMessage', message: 'boom' });
    const [frame] = await client.waitFor((f) => f.message === 'Internal server error');
    expect(Object.keys(frame).sort()).toEqual(['connectionId', 'message', 'raw', 'requestId']);
    expect(frame.connectionId).toMatch(/=$/);
    await failed;
    client.send('throw');
    await client.waitFor((f) => f.message === 'Internal server error', 2);
    expect((await pong(client)).action).toBe('pong');
  });

  test('a handler that outlives the Lambda timeout gives the internal-error frame', async () => {
    const client = await connect();
    client.send({ action: 'sendMessage', message: 'slow' });
    await client.waitFor((f) => f.message === 'Internal server error');
  });

  test('a crashed handler runtime is replaced (a cold start) and serves the next invocation', async () => {
    const client = await connect();
    client.send({ action: 'sendMessage', message: 'crash' });
    await client.waitFor((f) => f.message === 'Internal server error');
    expect((await pong(client)).action).toBe('pong');
  });
});

describe('@connections management API (real SDK client)', () => {
  test('POST sends a text frame; GET describes the connection', async () => {
    const client = await connect();
    const { connect: connected } = (await pong(client)) as any;
    const id: string = connected.event.requestContext.connectionId;
    const api = sdk();
    await api.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('{"action":"hello"}') }));
    await client.next('hello');
    const info = await api.send(new GetConnectionCommand({ ConnectionId: id }));
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(info.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(info.ConnectedAt!.getTime());
    expect(info.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'gateway-test/1.0' });
    api.destroy();
  });

  test('DELETE closes the socket and runs $disconnect; then the id is gone (410 GoneException)', async () => {
    const client = await connect();
    const id: string = ((await pong(client)) as any).connect.event.requestContext.connectionId;
    const api = sdk();
    const disconnected = waitForEvent<{ connectionId: string; statusCode: number }>(gw.events, 'disconnect', (e) => e.connectionId === id);
    await api.send(new DeleteConnectionCommand({ ConnectionId: id }));
    expect((await client.closed).code).toBe(1000);
    expect((await disconnected).statusCode).toBe(1000);

    const err = await api.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('x') })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoneException);
    expect((err as GoneException).$metadata.httpStatusCode).toBe(410);
    await expect(api.send(new GetConnectionCommand({ ConnectionId: id }))).rejects.toBeInstanceOf(GoneException);
    await expect(api.send(new DeleteConnectionCommand({ ConnectionId: id }))).rejects.toBeInstanceOf(GoneException);

    // The $disconnect event, as the next connection's ping fixture reports it.
    const other = await connect();
    const { disconnects } = (await pong(other)) as any;
    const event = disconnects.find((e: any) => e.requestContext.connectionId === id);
    expect(event.requestContext).toMatchObject({
      routeKey: '$disconnect',
      eventType: 'DISCONNECT',
      disconnectStatusCode: 1000,
      authorizer: { userId: 'alice', principalId: 'alice' },
    });
    api.destroy();
  });

  test('unknown ids are 410 with x-amzn-ErrorType GoneException; oversized posts are 413', async () => {
    const res = await httpCall('POST', `${gw.managementEndpoint}/@connections/${encodeURIComponent('AAAAAAAAAAAAAAA=')}`, 'x');
    expect(res.status).toBe(410);
    expect(res.headers['x-amzn-errortype']).toBe('GoneException');
    expect(JSON.parse(res.body)).toHaveProperty('message');

    const client = await connect();
    const id: string = ((await pong(client)) as any).connect.event.requestContext.connectionId;
    const api = sdk();
    await expect(api.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.alloc(128 * 1024 + 1, 97) }))).rejects.toBeInstanceOf(
      PayloadTooLargeException,
    );
    api.destroy();
    expect((await httpCall('PUT', `${gw.managementEndpoint}/@connections/${id}`)).status).toBe(403);
  });
});

describe('limits and lifecycle', () => {
  test('a message over 128 KB (in 32 KB frames) closes the connection with 1009 and runs $disconnect', async () => {
    const client = await connect();
    const id: string = ((await pong(client)) as any).connect.event.requestContext.connectionId;
    const disconnected = waitForEvent<{ connectionId: string }>(gw.events, 'disconnect', (e) => e.connectionId === id);
    client.sendFragmented('x'.repeat(128 * 1024 + 1));
    expect((await client.closed).code).toBe(1009);
    await disconnected;
  });

  test('a message of exactly 128 KB in frames of 32 KB is accepted', async () => {
    const client = await connect();
    client.sendFragmented('y'.repeat(128 * 1024));
    expect((await client.next('default')).length).toBe(128 * 1024);
  });

  test('a frame over 32 KB closes the connection with 1009, though its message is under 128 KB; it is not routed', async () => {
    const client = await connect();
    const id: string = ((await pong(client)) as any).connect.event.requestContext.connectionId;
    const disconnected = waitForEvent<{ connectionId: string }>(gw.events, 'disconnect', (e) => e.connectionId === id);
    const before = gw.lambdaStats().byFunction.default.invocations;
    client.send('z'.repeat(32 * 1024 + 1));
    const closed = await client.closed;
    expect(closed).toEqual({ code: 1009, reason: 'Frame size exceeds the 32 KB limit' });
    await disconnected;
    expect(gw.lambdaStats().byFunction.default.invocations).toBe(before);
    expect(client.matching((f) => f.action === 'default')).toHaveLength(0);
  });

  test('a frame of exactly 32 KB is accepted; so is one inside a fragmented message', async () => {
    const client = await connect();
    client.send('a'.repeat(32 * 1024));
    expect((await client.next('default')).length).toBe(32 * 1024);
    client.sendFragmented('b'.repeat(40 * 1024), 10 * 1024);
    expect((await client.waitFor((f) => f.action === 'default', 2))[1].length).toBe(40 * 1024);
  });

  test('idle timeout and maximum duration close with 1001 and run $disconnect', async () => {
    const short = await startTestGateway({ handlersDir: FIXTURE_HANDLERS, idleTimeoutSeconds: 0.4, maxDurationSeconds: 1.5 });
    try {
      const idle = await TestClient.connect(connectUrl(short.url, { token: 'allow:a', room_id: 'r' }));
      const busy = await TestClient.connect(connectUrl(short.url, { token: 'allow:b', room_id: 'r' }));
      const disconnects: Array<{ statusCode: number }> = [];
      short.events.on('disconnect', (e) => disconnects.push(e));
      // The busy client keeps sending frames under the idle timeout until the maximum duration ends it.
      const keepAlive = setInterval(() => busy.send({ action: 'ping' }), 100);
      const idleClose = await idle.closed;
      expect(idleClose.code).toBe(1001);
      expect(busy.ws.readyState).toBe(busy.ws.OPEN);
      const busyClose = await busy.closed;
      clearInterval(keepAlive);
      expect(busyClose.code).toBe(1001);
      await eventually(async () => disconnects.length >= 2, 5000, 'two $disconnect runs');
      expect(disconnects.map((d) => d.statusCode)).toEqual([1001, 1001]);
    } finally {
      await short.close();
    }
  });

  test('close() ends connections with 1001 after running $disconnect', async () => {
    const other = await startTestGateway({ handlersDir: FIXTURE_HANDLERS });
    const client = await TestClient.connect(connectUrl(other.url, { token: 'allow:a', room_id: 'r' }));
    const disconnected = waitForEvent(other.events, 'disconnect');
    await other.close();
    expect((await client.closed).code).toBe(1001);
    await disconnected;
  });

  test('a taken port fails with EADDRINUSE; missing bundles fail with a clear message', async () => {
    await expect(startLocalGateway({ port: gw.port, handlersDir: FIXTURE_HANDLERS })).rejects.toMatchObject({
      code: 'EADDRINUSE',
      message: expect.stringMatching(/already in use/),
    });
    await expect(startLocalGateway({ port: 0, handlersDir: '/nonexistent' })).rejects.toThrow(/Handler bundle\(s\) not found.*projen bundle/);
  });
});

function httpCall(method: string, url: string, body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

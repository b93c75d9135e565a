import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import * as path from 'node:path';
import { ApiGatewayManagementApiClient, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FIXTURE_HANDLERS, startTestGateway, type TestGateway } from '../support/local-gateway';
import { rawUpgrade } from '../support/raw-socket';
import { recordFigures } from '../support/reliability';
import { eventually, waitForEvent } from '../support/wait';
import { connectUrl, handshakeStatus, TestClient } from '../support/ws-client';

/**
 * The gateway's defences, each test failing if its fault comes back: internal services on loopback whatever --host
 * says; exactly one $disconnect for every accepted connection, nothing for a refused one; no browser access to the
 * internal endpoints; API Gateway's URL, frame and delivery limits.
 */

interface Fixture {
  gw: TestGateway;
  stateDir: string;
}
const fixtures: Fixture[] = [];
afterAll(async () => {
  for (const { gw, stateDir } of fixtures.splice(0)) {
    await gw.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
});

async function start(options: Parameters<typeof startTestGateway>[0] = {}): Promise<Fixture> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'hardening-'));
  const handlerEnv = { FIXTURE_STATE_DIR: stateDir, ...options.handlerEnv };
  const gw = await startTestGateway({ handlersDir: FIXTURE_HANDLERS, ...options, handlerEnv });
  const fixture = { gw, stateDir };
  fixtures.push(fixture);
  return fixture;
}

/** Connection ids whose $connect the fixture recorded, and the $disconnect count of each id. */
function ledger(stateDir: string): { connects: string[]; disconnects: Map<string, number> } {
  const connects = readdirSync(stateDir)
    .filter((f) => f.startsWith('connect-'))
    .map((f) => decodeURIComponent(f.slice('connect-'.length, -'.json'.length)));
  const disconnects = new Map<string, number>();
  let lines: string[] = [];
  try {
    lines = readFileSync(path.join(stateDir, 'disconnects.jsonl'), 'utf8').split('\n').filter(Boolean);
  } catch {
    // none yet
  }
  for (const line of lines) {
    const id = (JSON.parse(line) as { requestContext: { connectionId: string } }).requestContext.connectionId;
    disconnects.set(id, (disconnects.get(id) ?? 0) + 1);
  }
  return { connects, disconnects };
}

function nonLoopbackAddress(family: 'IPv4' | 'IPv6'): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === family && !i.internal && !i.address.startsWith('fe80:'))?.address;
}

/** Whether a TCP connection to host:port is accepted. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const portOf = (endpoint: string) => Number(new URL(endpoint).port);

describe('internal services listen on loopback only, whatever --host says', () => {
  test.each([
    ['IPv4', nonLoopbackAddress('IPv4') ?? '0.0.0.0'],
    ['IPv6', nonLoopbackAddress('IPv6')],
  ])('--host on a non-loopback %s address of this machine (%s)', async (family, address) => {
    if (!address) return; // this machine has no such address
    const reachAt = address === '0.0.0.0' ? '127.0.0.1' : address;
    const { gw } = await start({
      host: address,
      auth: { mode: 'jwks', audience: [], algorithms: ['ES256'], userIdClaim: 'sub' },
    });
    const loopback = family === 'IPv4' ? '127.0.0.1' : '::1';
    expect(gw.internalHost).toBe(loopback);
    const internals = { dynamodb: gw.dynamoEndpoint, secrets: gw.secretsEndpoint, jwks: gw.auth.jwksUrl! };
    for (const [name, endpoint] of Object.entries(internals)) {
      expect(`${name} ${new URL(endpoint).hostname}`).toBe(`${name} ${family === 'IPv4' ? loopback : `[${loopback}]`}`);
      // Not reachable at the address the gateway was told to listen on (nor, with 0.0.0.0, at any other).
      if (address !== '0.0.0.0') expect(`${name} ${await reachable(address, portOf(endpoint))}`).toBe(`${name} false`);
      for (const other of [nonLoopbackAddress('IPv4'), nonLoopbackAddress('IPv6')]) {
        if (other) expect(`${name} at ${other}: ${await reachable(other, portOf(endpoint))}`).toBe(`${name} at ${other}: false`);
      }
      expect(await reachable(loopback, portOf(endpoint))).toBe(true);
    }
    // The gateway's own port follows --host.
    expect(await reachable(reachAt, gw.port)).toBe(true);
    const client = await TestClient.connect(connectUrl(gw.url, { token: 'allow:alice', room_id: 'r' }));
    client.send({ action: 'ping' });
    await client.next('pong');
    await client.close();
  });
});

describe('exactly one $disconnect for every accepted connection; nothing for a refused one', () => {
  test('a client that closes while $connect runs gets its $disconnect (and a 1006 code)', async () => {
    const { gw, stateDir } = await start();
    const disconnected = waitForEvent<{ connectionId: string; statusCode: number }>(gw.events, 'disconnect');
    const raw = rawUpgrade(gw.port, '/dev?token=allow:alice&room_id=r&connect_delay=300');
    setTimeout(() => raw.socket.destroy(), 100);
    const event = await disconnected;
    expect(event.statusCode).toBe(1006);
    await gw.settled();
    const { connects, disconnects } = ledger(stateDir);
    expect(connects).toEqual([event.connectionId]);
    expect([...disconnects]).toEqual([[event.connectionId, 1]]);
  });

  test('a client that half-closes (sends FIN) while $connect runs gets its $disconnect', async () => {
    const { gw, stateDir } = await start();
    const disconnected = waitForEvent<{ connectionId: string }>(gw.events, 'disconnect');
    const raw = rawUpgrade(gw.port, '/dev?token=allow:bob&room_id=r&connect_delay=300');
    setTimeout(() => raw.socket.end(), 100);
    const event = await disconnected;
    await raw.ended;
    await gw.settled();
    const { connects, disconnects } = ledger(stateDir);
    expect(connects).toEqual([event.connectionId]);
    expect([...disconnects]).toEqual([[event.connectionId, 1]]);
    expect(gw.connectionIds()).toEqual([]);
  });

  test('a client that leaves during the authorizer: no $connect, no $disconnect', async () => {
    const { gw, stateDir } = await start();
    const raw = rawUpgrade(gw.port, '/dev?token=allow:carol&room_id=r&auth_delay=300');
    setTimeout(() => raw.socket.destroy(), 100);
    await raw.ended;
    await eventually(async () => gw.logs.some((l) => l.includes('the client left during the authorizer')), 5000, 'the log line');
    await gw.settled();
    expect(ledger(stateDir)).toEqual({ connects: [], disconnects: new Map() });
  });

  test('many clients coming and going at random moments: every $connect has exactly one $disconnect', async () => {
    const { gw, stateDir } = await start();
    const runs = Array.from({ length: 40 }, async (_, i) => {
      const delay = (i * 37) % 200;
      const raw = rawUpgrade(gw.port, `/dev?token=allow:u${i}&room_id=r&connect_delay=${(i * 53) % 150}`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      if (i % 3 === 0) {raw.socket.destroy();} else if (i % 3 === 1) {raw.socket.end();} else {
        await raw.status().catch(() => 0);
        raw.socket.destroy();
      }
      await raw.ended;
    });
    await Promise.all(runs);
    await eventually(async () => {
      const { connects, disconnects } = ledger(stateDir);
      return connects.length > 0 && connects.every((id) => disconnects.has(id));
    }, 10_000, 'a $disconnect for every $connect');
    await gw.settled();
    const { connects, disconnects } = ledger(stateDir);
    expect([...disconnects.keys()].sort()).toEqual([...connects].sort());
    expect([...disconnects.values()].every((n) => n === 1)).toBe(true);
    recordFigures('half-closed', { clients: 40, accepted: connects.length, disconnects: [...disconnects.values()].reduce((a, b) => a + b, 0) });
  });

  test.each([
    ['a malformed Sec-WebSocket-Protocol', 400, { 'Sec-WebSocket-Protocol': 'chat,,v2' }],
    ['a duplicated subprotocol', 400, { 'Sec-WebSocket-Protocol': 'chat, chat' }],
    ['a subprotocol with a space inside', 400, { 'Sec-WebSocket-Protocol': 'chat v2' }],
    ['a bad Sec-WebSocket-Key', 400, { 'Sec-WebSocket-Key': 'short' }],
    ['an unsupported version', 400, { 'Sec-WebSocket-Version': '12' }],
    ['no Upgrade: websocket', 400, { Upgrade: 'h2c' }],
  ])('%s is refused (%i) before the authorizer or $connect runs', async (_what, status, headers) => {
    const { gw, stateDir } = await start();
    const before = gw.lambdaStats().byFunction;
    const raw = rawUpgrade(gw.port, '/dev?token=allow:dan&room_id=r', headers);
    expect(await raw.status()).toBe(status);
    await raw.ended;
    const after = gw.lambdaStats().byFunction;
    expect(after.authorizer.invocations).toBe(before.authorizer.invocations);
    expect(after.connect.invocations).toBe(before.connect.invocations);
    expect(ledger(stateDir).connects).toEqual([]);
  });

  test('a method other than GET is refused with 405 before anything runs; a good subprotocol list passes', async () => {
    const { gw } = await start();
    const raw = rawUpgrade(gw.port, '/dev?token=allow:dan&room_id=r', {}, { method: 'POST' });
    expect(await raw.status()).toBe(405);
    expect(gw.lambdaStats().byFunction.authorizer.invocations).toBe(0);
    const ok = await TestClient.connect(connectUrl(gw.url, { token: 'allow:dan', room_id: 'r' }), { protocols: ['chat.v1', 'chat.v0'] } as never);
    expect(ok.ws.protocol).toBe('chat.v1');
    await ok.close();
  });
});

describe('no web page can reach the internal endpoints (Origin → 403)', () => {
  test('@connections: a POST with Origin is refused and delivers nothing; a preflight is refused', async () => {
    const { gw } = await start();
    const connected = waitForEvent<{ connectionId: string }>(gw.events, 'connect');
    const client = await TestClient.connect(connectUrl(gw.url, { token: 'allow:alice', room_id: 'r' }));
    const { connectionId } = await connected;
    const target = `${gw.managementEndpoint}/@connections/${encodeURIComponent(connectionId)}`;
    const forged = await http('POST', target, '{"action":"injected"}', { 'Origin': 'http://evil.example', 'Content-Type': 'text/plain' });
    expect(forged.status).toBe(403);
    const preflight = await http('OPTIONS', target, undefined, { 'Origin': 'http://evil.example', 'Access-Control-Request-Method': 'POST' });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect((await http('GET', target, undefined, { Origin: 'http://evil.example' })).status).toBe(403);
    // Without Origin (an SDK), the same post is delivered.
    expect((await http('POST', target, '{"action":"legit"}')).status).toBe(200);
    await client.next('legit');
    expect(client.matching((f) => f.action === 'injected')).toHaveLength(0);
    await client.close();
  });

  test('DynamoDB and the secrets emulator: requests with Origin (and preflights) are refused before they run', async () => {
    const { gw } = await start();
    const listTables = { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'DynamoDB_20120810.ListTables' };
    for (const endpoint of [gw.dynamoEndpoint, gw.secretsEndpoint]) {
      const post = await http('POST', endpoint, '{}', { ...listTables, Origin: 'http://evil.example' });
      expect(post.status).toBe(403);
      expect(post.headers['access-control-allow-origin']).toBeUndefined();
      const preflight = await http('OPTIONS', endpoint, undefined, { 'Origin': 'http://evil.example', 'Access-Control-Request-Method': 'POST' });
      expect(preflight.status).toBe(403);
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    }
    // The SDK (no Origin) is served.
    const db = new DynamoDBClient({ endpoint: gw.dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    expect((await db.send(new ListTablesCommand({}))).TableNames).toEqual(expect.arrayContaining([gw.tableName]));
    db.destroy();
  });
});

describe('API Gateway\'s limits', () => {
  test('a connect URL over 4,096 characters is refused with 414 before the authorizer runs; 4,096 is accepted', async () => {
    const { gw } = await start();
    const base = connectUrl(gw.url, { token: 'allow:erin', room_id: 'r' }) + '&pad=';
    const exact = base + 'x'.repeat(4096 - base.length);
    expect(exact).toHaveLength(4096);
    const ok = await TestClient.connect(exact);
    await ok.close();
    const invocations = gw.lambdaStats().byFunction.authorizer.invocations;
    expect(await handshakeStatus(exact + 'x')).toBe(414);
    expect(gw.lambdaStats().byFunction.authorizer.invocations).toBe(invocations);
  });

  test('a non-UTF-8 @connections body arrives as a binary frame, byte for byte, and the connection stays open', async () => {
    const { gw } = await start();
    const connected = waitForEvent<{ connectionId: string }>(gw.events, 'connect');
    const client = await TestClient.connect(connectUrl(gw.url, { token: 'allow:frank', room_id: 'r' }));
    const { connectionId } = await connected;
    const binary: Array<{ data: Buffer; isBinary: boolean }> = [];
    client.ws.on('message', (data: Buffer, isBinary: boolean) => binary.push({ data, isBinary }));
    const api = new ApiGatewayManagementApiClient({ endpoint: gw.managementEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x41]);
    await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: bytes }));
    await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from('{"action":"after","text":"héllo"}') }));
    const after = await client.next('after');
    expect(after.text).toBe('héllo');
    expect(binary[0]).toEqual({ data: bytes, isBinary: true });
    expect(binary[1].isBinary).toBe(false);
    expect(client.ws.readyState).toBe(client.ws.OPEN);
    api.destroy();
    await client.close();
  });

  test('a client that stops reading is closed once too much is left unsent to it; posts then answer 410', async () => {
    const { gw } = await start({ maxBufferedBytes: 256 * 1024 });
    const connected = waitForEvent<{ connectionId: string }>(gw.events, 'connect');
    const client = await TestClient.connect(connectUrl(gw.url, { token: 'allow:gina', room_id: 'r' }));
    const { connectionId } = await connected;
    const disconnected = waitForEvent<{ connectionId: string }>(gw.events, 'disconnect', (e) => e.connectionId === connectionId, 30_000);
    // The client reads nothing from now on.
    (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const api = new ApiGatewayManagementApiClient({ endpoint: gw.managementEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    const chunk = Buffer.from(JSON.stringify({ action: 'bulk', pad: 'p'.repeat(100 * 1024) }));
    let posts = 0;
    let gone: unknown;
    // The kernel's socket buffers take the first megabytes; then the gateway's own buffer fills up.
    while (posts < 2000 && !gone) {
      gone = await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: chunk })).then(() => undefined, (e: unknown) => e);
      posts++;
    }
    expect(gone).toBeInstanceOf(GoneException);
    expect(gw.logs.some((l) => l.includes(connectionId) && l.includes('unread by the client: closing (1008)'))).toBe(true);
    await disconnected;
    expect(gw.connectionIds()).not.toContain(connectionId);
    api.destroy();
    client.ws.terminate();
  });
});

type Answer = { status: number; headers: Record<string, unknown>; body: string };

function http(method: string, url: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

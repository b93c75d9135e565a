import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { connectionItem, membershipItem } from '../../src/handlers/lib/connections-store';
import { DEFAULTS, ERROR_CODES, TABLE } from '../../src/shared/contract';
import { REAL_HANDLERS, startTestGateway, type TestGateway } from '../support/local-gateway';
import { assertRealBundles, handlersWithThrowingSendMessage, joseToken } from '../support/real-handlers';
import { eventually, waitForEvent } from '../support/wait';
import { connectUrl, handshakeStatus, TestClient, type Frame } from '../support/ws-client';

/**
 * End to end, the wire protocol (README) over real sockets: the local gateway running the real handler bundles
 * (assets/handlers, `npx projen bundle`), real `ws` clients, tokens signed with jose.
 */

assertRealBundles();

let gw: TestGateway;
const clients: TestClient[] = [];
let roomCounter = 0;

beforeAll(async () => {
  gw = await startTestGateway({ handlersDir: REAL_HANDLERS });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  // Let every $disconnect finish, so each test starts from a table without the previous test's rows.
  await gw.settled();
});
afterAll(async () => {
  await gw?.close();
});

/** A room of its own for each test. */
function newRoom(): string {
  return `room-${++roomCounter}.test:${process.pid}`;
}

async function join(user: string, room: string, params: Record<string, string> = {}, base: TestGateway = gw): Promise<TestClient> {
  const token = await joseToken(base.secret, { sub: user });
  const client = await TestClient.connect(connectUrl(base.url, { room_id: room, token, ...params }));
  clients.push(client);
  return client;
}

/** The connection id of a client: the gateway reports it on `connect`; ask the table by elimination. */
async function joinWithId(user: string, room: string, base: TestGateway = gw): Promise<{ client: TestClient; id: string }> {
  const connected = waitForEvent<{ connectionId: string; authorizer: Record<string, unknown> }>(
    base.events,
    'connect',
    (e) => e.authorizer.userId === user && e.authorizer.roomId === room,
  );
  const client = await join(user, room, {}, base);
  return { client, id: (await connected).connectionId };
}

const isMessage = (text: string) => (f: Frame) => f.action === 'message' && f.message === text;
const isError = (code: string) => (f: Frame) => f.action === 'error' && f.code === code;

describe('chat', () => {
  test('a message reaches every connection of the room, the sender included, and no other room', async () => {
    const room = newRoom();
    const alice = await join('alice', room);
    const bob = await join('bob', room);
    const carol = await join('carol', newRoom());

    alice.send({ action: 'sendMessage', message: 'hello room' });
    const [atAlice] = await alice.waitFor(isMessage('hello room'));
    const [atBob] = await bob.waitFor(isMessage('hello room'));
    expect(atBob.raw).toBe(atAlice.raw);
    expect(atAlice).toMatchObject({ action: 'message', room_id: room, user_id: 'alice', message: 'hello room' });
    expect(typeof atAlice.message_id).toBe('string');
    expect(new Date(atAlice.timestamp as string).toISOString()).toBe(atAlice.timestamp);

    // Carol, in another room, gets nothing: check after her own room's traffic has arrived.
    carol.send({ action: 'sendMessage', message: 'carol here' });
    await carol.waitFor(isMessage('carol here'));
    expect(carol.frames.map((f) => f.message)).toEqual(['carol here']);
    expect(alice.matching(isMessage('carol here'))).toHaveLength(0);
  });

  test('the sender is the token subject; a user_id query parameter or frame field is ignored', async () => {
    const room = newRoom();
    const alice = await join('alice', room, { user_id: 'mallory' });
    alice.send({ action: 'sendMessage', message: 'who am i', user_id: 'mallory' });
    const [frame] = await alice.waitFor(isMessage('who am i'));
    expect(frame.user_id).toBe('alice');
  });

  test('an optional room_id equal to the connection room is accepted', async () => {
    const room = newRoom();
    const alice = await join('alice', room);
    alice.send({ action: 'sendMessage', message: 'explicit', room_id: room });
    await alice.waitFor(isMessage('explicit'));
  });

  test('two rooms talking at once stay isolated', async () => {
    const [roomA, roomB] = [newRoom(), newRoom()];
    const a1 = await join('a1', roomA);
    const a2 = await join('a2', roomA);
    const b1 = await join('b1', roomB);
    const b2 = await join('b2', roomB);
    for (let i = 0; i < 5; i++) {
      a1.send({ action: 'sendMessage', message: `A${i}` });
      b1.send({ action: 'sendMessage', message: `B${i}` });
    }
    for (const c of [a1, a2]) await c.waitFor((f) => f.action === 'message', 5);
    for (const c of [b1, b2]) await c.waitFor((f) => f.action === 'message', 5);
    const messages = (c: TestClient) => c.matching((f) => f.action === 'message');
    for (const c of [a1, a2]) expect(messages(c).every((f) => f.room_id === roomA && String(f.message).startsWith('A'))).toBe(true);
    for (const c of [b1, b2]) expect(messages(c).every((f) => f.room_id === roomB && String(f.message).startsWith('B'))).toBe(true);
    // Per room, seqs are consecutive, and ordered by seq every member has the same messages (concurrent
    // invocations may deliver them in another order: clients order by seq).
    const bySeq = (c: TestClient) => messages(c).sort((x, y) => Number(x.seq) - Number(y.seq));
    for (const [c, d] of [[a1, a2], [b1, b2]]) {
      expect(bySeq(c).map((f) => f.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(bySeq(d).map((f) => f.message)).toEqual(bySeq(c).map((f) => f.message));
    }
  });

  test('ping → pong, to the sender only', async () => {
    const room = newRoom();
    const alice = await join('alice', room);
    const bob = await join('bob', room);
    alice.send({ action: 'ping' });
    await alice.next('pong');
    bob.send({ action: 'sendMessage', message: 'sync' });
    await bob.waitFor(isMessage('sync'));
    await alice.waitFor(isMessage('sync'));
    expect(bob.matching((f) => f.action === 'pong')).toHaveLength(0);
  });

  test('each bad frame gets its error code, to the sender only', async () => {
    const room = newRoom();
    const alice = await join('alice', room);
    const bob = await join('bob', room);
    const cases: Array<[string | Record<string, unknown>, string]> = [
      ['this is not json', ERROR_CODES.invalidJson],
      [{ action: 'sendMessage' }, ERROR_CODES.invalidMessage],
      [{ action: 'sendMessage', message: 42 }, ERROR_CODES.invalidMessage],
      [{ action: 'sendMessage', message: 'x'.repeat(DEFAULTS.maxMessageBytes + 1) }, ERROR_CODES.messageTooLarge],
      [{ action: 'sendMessage', message: 'hi', room_id: 'some-other-room' }, ERROR_CODES.roomMismatch],
      [{ action: 'sendMessage', message: 'hi', room_id: 'bad room' }, ERROR_CODES.invalidRoom],
      [{ action: 'join', room_id: 'bad/room' }, ERROR_CODES.invalidRoom],
      [{ action: 'dance' }, ERROR_CODES.unknownAction],
    ];
    for (const [frame, code] of cases) {
      alice.send(frame);
      const [error] = await alice.waitFor(isError(code));
      expect(error).toMatchObject({ action: 'error', code, message: expect.any(String) });
    }
    const [unknown] = alice.matching(isError(ERROR_CODES.unknownAction));
    expect(unknown.message).toEqual(expect.stringContaining('sendMessage'));
    expect(unknown.message).toEqual(expect.stringContaining('ping'));
    // Nothing was broadcast, and bob saw none of the errors.
    alice.send({ action: 'sendMessage', message: 'after the errors' });
    await bob.waitFor(isMessage('after the errors'));
    await alice.waitFor(isMessage('after the errors'));
    expect(bob.frames.map((f) => f.action)).toEqual(['message']);
    expect(alice.matching((f) => f.action === 'message')).toHaveLength(1);
  });

  test('leave and rejoin: the old connection is gone from the table, the new one receives', async () => {
    const room = newRoom();
    const bob = await join('bob', room);
    const first = await joinWithId('alice', room);
    expect(await gw.row(first.id)).toMatchObject({ [TABLE.userId]: { S: 'alice' } });
    expect((await gw.items(first.id)).map((i) => i[TABLE.roomId]?.S).filter(Boolean)).toEqual([room]);

    const left = waitForEvent<{ connectionId: string }>(gw.events, 'disconnect', (e) => e.connectionId === first.id);
    await first.client.close();
    await left;
    expect(await gw.items(first.id)).toEqual([]);

    bob.send({ action: 'sendMessage', message: 'while alice is away' });
    await bob.waitFor(isMessage('while alice is away'));

    const again = await joinWithId('alice', room);
    expect(again.id).not.toBe(first.id);
    bob.send({ action: 'sendMessage', message: 'welcome back' });
    await again.client.waitFor(isMessage('welcome back'));
    expect(again.client.matching(isMessage('while alice is away'))).toHaveLength(0);
  });

  test('a stale connection (long gone) loses every item at the first fan-out that meets 410', async () => {
    const room = newRoom();
    const alice = await join('alice', room);
    const ghost = 'GhostConnectn0A=';
    const ttl = Math.floor(Date.now() / 1000) + 3600;
    for (const Item of [
      connectionItem({ connectionId: ghost, userId: 'ghost', ttl, createdAt: new Date(Date.now() - 3_600_000).toISOString() }),
      membershipItem(ghost, room, 'ghost', ttl),
      membershipItem(ghost, 'another-room', 'ghost', ttl),
    ]) {
      await gw.dynamo.send(new PutItemCommand({ TableName: gw.tableName, Item }));
    }
    alice.send({ action: 'sendMessage', message: 'anyone?' });
    await alice.waitFor(isMessage('anyone?'));
    await eventually(async () => (await gw.items(ghost)).length === 0, 5000, 'the ghost items to be deleted');
  });
});

describe('IPv6 loopback', () => {
  test('the gateway, its DynamoDB and its secrets endpoint all run on --host ::1', async () => {
    const v6 = await startTestGateway({ handlersDir: REAL_HANDLERS, host: '::1' });
    try {
      expect(v6.url).toMatch(/^ws:\/\/\[::1\]:\d+\//);
      const client = await TestClient.connect(connectUrl(v6.url, { room_id: 'v6', token: v6.devToken('ipv6-user') }));
      client.send({ action: 'sendMessage', message: 'over ::1' });
      const [frame] = await client.waitFor((f) => f.action === 'message');
      expect(frame).toMatchObject({ user_id: 'ipv6-user', message: 'over ::1' });
      await client.close();
    } finally {
      await v6.close();
    }
  });
});

describe('handshake rejections (nothing stored)', () => {
  test('no token 401, forged 401, expired 401, malformed room 4xx', async () => {
    const room = newRoom();
    const before = (await gw.rows()).length;
    const good = await joseToken(gw.secret, { sub: 'mallory' });
    const forged = await joseToken('not-the-secret', { sub: 'mallory' });
    const expired = await joseToken(gw.secret, { sub: 'mallory' }, Math.floor(Date.now() / 1000) - 3600);
    const noSub = await joseToken(gw.secret, { name: 'mallory' });

    expect(await handshakeStatus(connectUrl(gw.url, { room_id: room }))).toBe(401);
    expect(await handshakeStatus(connectUrl(gw.url, { room_id: room, token: '' }))).toBe(401);
    expect(await handshakeStatus(connectUrl(gw.url, { room_id: room, token: 'not.a.jwt' }))).toBe(401);
    expect(await handshakeStatus(connectUrl(gw.url, { room_id: room, token: forged }))).toBe(401);
    expect(await handshakeStatus(connectUrl(gw.url, { room_id: room, token: expired }))).toBe(401);
    expect(await handshakeStatus(connectUrl(gw.url, { room_id: room, token: noSub }))).toBe(401);
    // A header token does not satisfy the query-string identity source (API Gateway requires every source).
    expect(await handshakeStatus(connectUrl(gw.url, { room_id: room }), { headers: { Authorization: `Bearer ${good}` } })).toBe(401);
    for (const badRoom of ['', 'has space', 'x'.repeat(129), 'slash/room']) {
      const status = await handshakeStatus(connectUrl(gw.url, { room_id: badRoom, token: good }));
      expect([400, 403]).toContain(status);
    }

    const rows = await gw.rows();
    expect(rows).toHaveLength(before);
    expect(rows.filter((r) => r[TABLE.userId]?.S === 'mallory' || r[TABLE.roomId]?.S === room)).toEqual([]);
  });
});

describe('@connections (real SDK client, real handlers)', () => {
  test('GET describes a connection; DELETE closes it, removes its row, and later posts answer 410', async () => {
    const room = newRoom();
    const { client, id } = await joinWithId('alice', room);
    const api = new ApiGatewayManagementApiClient({
      endpoint: gw.managementEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const info = await api.send(new GetConnectionCommand({ ConnectionId: id }));
      expect(info.ConnectedAt).toBeInstanceOf(Date);
      expect(info.Identity?.SourceIp).toBe('127.0.0.1');

      await api.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('{"action":"notice","text":"hi"}') }));
      await client.next('notice');

      const gone = waitForEvent<{ connectionId: string }>(gw.events, 'disconnect', (e) => e.connectionId === id);
      await api.send(new DeleteConnectionCommand({ ConnectionId: id }));
      await client.closed;
      await gone;
      expect(await gw.row(id)).toBeUndefined();
      await expect(api.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from('x') }))).rejects.toBeInstanceOf(GoneException);
    } finally {
      api.destroy();
    }
  });
});

describe('limits and failures', () => {
  test('a message over 128 KB closes the connection with 1009; its row goes', async () => {
    const { client, id } = await joinWithId('alice', newRoom());
    const gone = waitForEvent<{ connectionId: string }>(gw.events, 'disconnect', (e) => e.connectionId === id);
    client.send({ action: 'sendMessage', message: 'x'.repeat(128 * 1024) });
    expect((await client.closed).code).toBe(1009);
    await gone;
    expect(await gw.row(id)).toBeUndefined();
  });

  test('an idle connection is closed with 1001 and its row removed', async () => {
    const short = await startTestGateway({ handlersDir: REAL_HANDLERS, idleTimeoutSeconds: 0.5 });
    try {
      const { client, id } = await joinWithId('alice', 'idle-room', short);
      const gone = waitForEvent<{ connectionId: string }>(short.events, 'disconnect', (e) => e.connectionId === id);
      expect((await client.closed).code).toBe(1001);
      await gone;
      expect(await short.row(id)).toBeUndefined();
    } finally {
      await short.close();
    }
  });

  test('a handler that throws gives the internal-error frame; the gateway keeps serving', async () => {
    const handlers = handlersWithThrowingSendMessage();
    const other = await startTestGateway({ handlersDir: handlers.dir });
    try {
      const alice = await join('alice', 'r', {}, other);
      const bob = await join('bob', 'r', {}, other);
      alice.send({ action: 'sendMessage', message: 'boom' });
      const [frame] = await alice.waitFor((f) => f.message === 'Internal server error');
      expect(frame).toMatchObject({ connectionId: expect.any(String), requestId: expect.any(String) });
      alice.send({ action: 'sendMessage', message: 'still here' });
      await bob.waitFor(isMessage('still here'));
      expect(bob.matching((f) => f.message === 'Internal server error')).toHaveLength(0);
    } finally {
      await other.close();
      handlers.cleanup();
    }
  });
});

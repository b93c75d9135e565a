import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { ChatError } from '../../packages/client/src';
import { ENV, TABLE } from '../../src/shared/contract';
import { REAL_HANDLERS, startTestGateway, type TestGateway } from '../support/local-gateway';
import { assertRealBundles } from '../support/real-handlers';
import {
  closeGatewayClients,
  dropConnection,
  gatewayClient,
  opened,
  sleep,
  until,
  watchHandshakes,
} from './support/gateway-client';

/**
 * The client package against the real local gateway: the shipped handler bundles, dynalite and real sockets (`ws`
 * as the WebSocket). Where the fake server of the other client tests is a script, this is the protocol as the
 * server really speaks it: rooms, seq, history, presence, member events, request ids, refusals and closes.
 */

assertRealBundles();

let gw: TestGateway;
let roomCounter = 0;
const newRoom = (): string => `client-${++roomCounter}-${process.pid}`;

beforeAll(async () => {
  gw = await startTestGateway({
    handlersDir: REAL_HANDLERS,
    auth: { mode: 'hs256', audience: [], userIdClaim: 'sub', roomsClaim: 'rooms' },
    handlerEnv: { [ENV.maxRoomsPerConnection]: '3' },
  });
});
afterEach(async () => {
  closeGatewayClients();
  await gw.settled();
});
afterAll(async () => {
  await gw?.close();
});

const ANY_ROOM = { rooms: '*' };

describe('chat', () => {
  test('two clients chat across two rooms on one socket each', async () => {
    const [a, b] = [newRoom(), newRoom()];
    const alice = gatewayClient(gw, 'alice', { room: a }, ANY_ROOM);
    const bob = gatewayClient(gw, 'bob', {}, ANY_ROOM);
    expect(await alice.client.join(b)).toMatchObject({ action: 'joined', room_id: b, latest_seq: 0 });
    await Promise.all([bob.client.join(a), bob.client.join(b)]);
    await opened(alice);

    const own = await alice.client.send(a, 'hello a');
    expect(own).toMatchObject({ action: 'message', room_id: a, seq: 1, user_id: 'alice', message: 'hello a' });
    await bob.client.send(b, 'hello b');
    await alice.client.send(b, 'again b');
    await bob.client.send(a, 'again a');

    const seen = (r: typeof alice) => r.messages.map((m) => `${m.room_id === a ? 'a' : 'b'}${m.seq}:${m.user_id}:${m.message}`);
    const expected = ['a1:alice:hello a', 'b1:bob:hello b', 'b2:alice:again b', 'a2:bob:again a'];
    await until(() => alice.messages.length === 4 && bob.messages.length === 4, 'both to see four messages');
    expect(seen(alice)).toEqual(expected);
    expect(seen(bob)).toEqual(expected);
    // Each client had one socket all along; the handshake room was joined once more (join is idempotent).
    expect(alice.sockets).toHaveLength(1);
    expect(bob.sockets).toHaveLength(1);
    expect(alice.errors).toEqual([]);

    // Leaving a room: its messages stop at once; the other room goes on.
    expect(await alice.client.leave(b)).toMatchObject({ action: 'left', room_id: b });
    await bob.client.send(b, 'after alice left');
    await bob.client.send(a, 'a goes on');
    await until(() => alice.messages.length === 5, 'the message in a');
    expect(alice.messages[4]).toMatchObject({ room_id: a, message: 'a goes on', seq: 3 });
    await expect(alice.client.send(b, 'not a member')).rejects.toMatchObject({ code: 'ROOM_MISMATCH' });
  });

  test('a connection dropped by the server while 50 messages are sent: reconnect, and each message once, in order', async () => {
    const room = newRoom();
    const handshakes = watchHandshakes(gw, 'reader');
    const reader = gatewayClient(gw, 'reader', { room, backoffBaseMs: 300, backoffMaxMs: 300 }, ANY_ROOM);
    const writer = gatewayClient(gw, 'writer', { room }, ANY_ROOM);
    await Promise.all([opened(reader), opened(writer)]);
    await reader.client.join(room);
    const first = handshakes.connects[0];

    const texts = Array.from({ length: 50 }, (_, i) => `m${i + 1}`);
    const sending = (async () => {
      for (const [i, text] of texts.entries()) {
        if (i === 10) await dropConnection(gw, first);
        await writer.client.send(room, text);
      }
    })();
    await sending;
    await until(() => reader.messages.length >= 50, 'the reader to have 50 messages', 20_000);
    await gw.settled();
    handshakes.stop();

    expect(reader.messages.map((m) => m.message)).toEqual(texts);
    expect(reader.messages.map((m) => m.seq)).toEqual(texts.map((_, i) => i + 1));
    expect(new Set(reader.messages.map((m) => m.message_id)).size).toBe(50);
    expect(reader.states).toEqual(['open', 'reconnecting', 'open']);
    expect(handshakes.connects).toHaveLength(2);
    // Messages sent while it was away came back through history, after it re-joined on the new connection.
    const replays = reader.sent.filter((f) => f.action === 'history');
    expect(replays.length).toBeGreaterThanOrEqual(1);
    expect(replays[0]).toMatchObject({ room_id: room, after_seq: expect.any(Number) });
    const replayed = reader.received.filter((f) => f.action === 'history').flatMap((f) => f.messages as unknown[]);
    expect(replayed.length).toBeGreaterThan(0);
    expect(reader.errors).toEqual([]);
    expect(writer.errors).toEqual([]);
  });
});

describe('a membership the server lost', () => {
  test('a ROOM_MISMATCH for a joined room: the client joins again, replays what it missed, and the send goes through', async () => {
    // A membership gone while the socket stays open (a broadcast's 410 that raced the handshake did this before the
    // server kept young connections' items): here the membership item is deleted directly.
    const room = newRoom();
    const handshakes = watchHandshakes(gw, 'hana');
    const hana = gatewayClient(gw, 'hana', { room }, ANY_ROOM);
    const ivan = gatewayClient(gw, 'ivan', { room }, ANY_ROOM);
    await Promise.all([opened(hana), opened(ivan)]);
    await hana.client.send(room, 'one');
    await gw.dynamo.send(new DeleteItemCommand({
      TableName: gw.tableName,
      Key: { [TABLE.partitionKey]: { S: handshakes.connects[0] }, [TABLE.sortKey]: { S: `${TABLE.roomSkPrefix}${room}` } },
    }));
    handshakes.stop();
    await ivan.client.send(room, 'missed'); // hana no longer hears the room
    const mine = await hana.client.send(room, 'two');
    expect(mine).toMatchObject({ message: 'two', seq: 3 });
    await until(() => hana.messages.length === 3, 'the replay');
    expect(hana.messages.map((m) => m.message)).toEqual(['one', 'missed', 'two']);
    expect(hana.sent.map((f) => f.action).slice(-4)).toEqual(['sendMessage', 'join', 'history', 'sendMessage']);
    expect(hana.sockets).toHaveLength(1);
    expect(hana.errors).toEqual([]);
  });
});

describe('tokens and refused handshakes', () => {
  const expired = (user: string) => gw.devToken(user, { rooms: '*', iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 });

  test('a refused handshake gets a fresh token: getToken is called again and the second token is accepted', async () => {
    const handshakes = watchHandshakes(gw);
    const tokens = [expired('tess'), gw.devToken('tess', ANY_ROOM)];
    const getToken = jest.fn(() => tokens.shift()!);
    const tess = gatewayClient(gw, 'tess', { getToken, room: newRoom() });
    await opened(tess);
    handshakes.stop();
    expect(getToken).toHaveBeenCalledTimes(2);
    expect(handshakes.rejects).toEqual([401]);
    expect(handshakes.connects).toHaveLength(1);
    expect(tess.states).toEqual(['open']);
    expect(tess.errors).toEqual([]);
  });

  test('a token that stays refused: a few handshakes, then closed with a typed REFUSED error (no reconnect storm)', async () => {
    const handshakes = watchHandshakes(gw);
    const getToken = jest.fn(() => expired('rex'));
    const rex = gatewayClient(gw, 'rex', { getToken, backoffBaseMs: 20, backoffMaxMs: 40 });
    await until(() => rex.client.state === 'closed', 'the client to give up');
    // Nothing more comes: no timer is left to dial again.
    await sleep(600);
    handshakes.stop();
    expect(handshakes.rejects).toEqual([401, 401, 401, 401]);
    expect(getToken).toHaveBeenCalledTimes(4);
    expect(rex.states).toEqual(['closed']);
    expect(rex.errors).toHaveLength(1);
    expect(rex.errors[0]).toBeInstanceOf(ChatError);
    expect(rex.errors[0].code).toBe('REFUSED');
    await expect(rex.client.join(newRoom())).rejects.toMatchObject({ code: 'CLOSED' });
  });

  test('after a drop, a token now refused: the same bound, then closed', async () => {
    const handshakes = watchHandshakes(gw, 'ria');
    let valid = true;
    const ria = gatewayClient(gw, 'ria', { getToken: () => (valid ? gw.devToken('ria', ANY_ROOM) : expired('ria')), backoffBaseMs: 20, backoffMaxMs: 40 });
    await opened(ria);
    valid = false;
    const refused = watchHandshakes(gw);
    await dropConnection(gw, handshakes.connects[0]);
    await until(() => ria.client.state === 'closed', 'the client to give up');
    await sleep(600);
    handshakes.stop();
    refused.stop();
    expect(refused.rejects).toEqual([401, 401, 401, 401]);
    expect(ria.states).toEqual(['open', 'reconnecting', 'closed']);
    expect(ria.errors.map((e) => e.code)).toEqual(['REFUSED']);
  });
});

describe('presence and history', () => {
  test('presence answers the room\'s users; member events come as users join and leave', async () => {
    const room = newRoom();
    const alice = gatewayClient(gw, 'alice', { room }, ANY_ROOM);
    await opened(alice);
    await alice.client.join(room);
    const bob = gatewayClient(gw, 'bob', {}, ANY_ROOM);
    await bob.client.join(room);
    await until(() => alice.members.length === 1, 'member_joined for bob');
    expect(alice.members[0]).toEqual({ action: 'member_joined', room_id: room, user_id: 'bob' });

    expect(await alice.client.presence(room)).toMatchObject({ action: 'presence', room_id: room, users: ['alice', 'bob'], connections: 2, truncated: false });
    // A second device of bob's is no news; bob leaving with one device left is none either.
    const bob2 = gatewayClient(gw, 'bob', {}, ANY_ROOM);
    await bob2.client.join(room);
    expect(await bob.client.presence(room)).toMatchObject({ users: ['alice', 'bob'], connections: 3 });
    await bob2.client.leave(room);
    bob.client.close();
    await until(() => alice.members.length === 2, 'member_left for bob');
    expect(alice.members[1]).toEqual({ action: 'member_left', room_id: room, user_id: 'bob' });
    expect(await alice.client.presence(room)).toMatchObject({ users: ['alice'], connections: 1 });
    expect(bob.members).toEqual([]);
  });

  test('history pages back with beforeSeq and forward with afterSeq', async () => {
    const room = newRoom();
    const alice = gatewayClient(gw, 'alice', { room }, ANY_ROOM);
    for (let i = 1; i <= 5; i++) await alice.client.send(room, `h${i}`);
    const back = await alice.client.history(room, { beforeSeq: 4, limit: 2 });
    expect(back).toMatchObject({ action: 'history', room_id: room, latest_seq: 5, has_more: true });
    expect(back.messages.map((m) => m.seq)).toEqual([2, 3]);
    const earlier = await alice.client.history(room, { beforeSeq: 2, limit: 2 });
    expect(earlier.messages.map((m) => m.action === 'message' && m.message)).toEqual(['h1']);
    expect(earlier.has_more).toBe(false);
    const forward = await alice.client.history(room, { afterSeq: 3 });
    expect(forward.messages.map((m) => m.seq)).toEqual([4, 5]);
    expect(forward.has_more).toBe(false);
    const latest = await alice.client.history(room, { limit: 3 });
    expect(latest.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
    // A stored frame is the frame as delivered to the room (the sender's own copy also echoes its request_id).
    const { request_id: requestId, ...delivered } = alice.messages[4];
    expect(requestId).toEqual(expect.any(String));
    expect(latest.messages[2]).toEqual(delivered);
  });
});

describe('typed errors', () => {
  test('FORBIDDEN_ROOM (rooms claim), INVALID_ROOM and TOO_MANY_ROOMS reject the join and drop the room', async () => {
    const [allowed, other] = [newRoom(), newRoom()];
    const dan = gatewayClient(gw, 'dan', { room: allowed }, { rooms: [allowed] });
    const forbidden = await dan.client.join(other).catch((e: unknown) => e);
    expect(forbidden).toBeInstanceOf(ChatError);
    expect(forbidden).toMatchObject({ code: 'FORBIDDEN_ROOM', requestId: expect.any(String) });
    expect((forbidden as ChatError).message).toContain(other);
    await expect(dan.client.join('bad room')).rejects.toMatchObject({ code: 'INVALID_ROOM' });

    const eve = gatewayClient(gw, 'eve', {}, ANY_ROOM);
    const rooms = [newRoom(), newRoom(), newRoom()];
    await Promise.all(rooms.map((room) => eve.client.join(room)));
    const fourth = newRoom();
    await expect(eve.client.join(fourth)).rejects.toMatchObject({ code: 'TOO_MANY_ROOMS', name: 'ChatError' });

    // The refused rooms are not joined again after a reconnect: the server sees joins of the three rooms only.
    const handshakes = watchHandshakes(gw, 'eve');
    const items = await gw.rows();
    const eveConnection = items.find((item) => item.user_id?.S === 'eve' && item.sk?.S === 'connection')!.connection_id.S!;
    await dropConnection(gw, eveConnection);
    await until(() => handshakes.connects.length === 1 && eve.client.state === 'open', 'eve to be back');
    handshakes.stop();
    const rejoins = eve.sent.filter((f) => f.action === 'join').slice(4).map((f) => f.room_id);
    expect(rejoins.sort()).toEqual([...rooms].sort());
    expect(eve.errors).toEqual([]);
    expect(dan.errors).toEqual([]);
  });

  test('ROOM_MISMATCH for a room the client is not in (send, presence, history)', async () => {
    const room = newRoom();
    const fay = gatewayClient(gw, 'fay', { room }, ANY_ROOM);
    const elsewhere = newRoom();
    for (const request of [() => fay.client.send(elsewhere, 'hi'), () => fay.client.presence(elsewhere), () => fay.client.history(elsewhere)]) {
      const error = await request().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChatError);
      expect(error).toMatchObject({ code: 'ROOM_MISMATCH' });
    }
    // The connection is fine afterwards.
    expect(await fay.client.send(room, 'still here')).toMatchObject({ seq: 1 });
  });
});

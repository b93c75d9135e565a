import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ENV, ERROR_CODES, MESSAGES } from '../../src/shared/contract';
import { REAL_HANDLERS, startTestGateway, type TestGateway } from '../support/local-gateway';
import { assertRealBundles } from '../support/real-handlers';
import { recordFigures } from '../support/reliability';
import { eventually, waitForEvent } from '../support/wait';
import { connectUrl, handshakeStatus, TestClient, type Frame } from '../support/ws-client';

/**
 * Rooms v2 end to end, over real sockets with real tokens, on the real bundles and dynalite: several rooms per
 * connection, join / leave / presence, a per-room seq, and history that gives a reconnecting client back exactly
 * what it missed.
 */

assertRealBundles();

let gw: TestGateway;
const clients: TestClient[] = [];
let roomCounter = 0;

beforeAll(async () => {
  gw = await startTestGateway({
    handlersDir: REAL_HANDLERS,
    auth: { mode: 'hs256', audience: [], userIdClaim: 'sub', roomsClaim: 'rooms' },
    handlerEnv: { [ENV.maxRoomsPerConnection]: '4', [ENV.presenceEventsMaxConnections]: '3' },
  });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await gw.settled();
});
afterAll(async () => {
  await gw?.close();
});

const newRoom = (): string => `rooms-${++roomCounter}-${process.pid}`;

async function connect(user: string, room?: string, rooms: string[] | '*' = '*'): Promise<TestClient> {
  const token = gw.devToken(user, { rooms });
  const client = await TestClient.connect(connectUrl(gw.url, { token, room_id: room }));
  clients.push(client);
  return client;
}

/** Sends a frame with a fresh request_id and waits for the answer that echoes it. */
let requestCounter = 0;
async function ask(client: TestClient, frame: Record<string, unknown>): Promise<Frame> {
  const requestId = `q${++requestCounter}`;
  client.send({ ...frame, request_id: requestId });
  return (await client.waitFor((f) => f.request_id === requestId && f.action !== 'message'))[0];
}

async function say(client: TestClient, message: string, room?: string): Promise<Frame> {
  const requestId = `m${++requestCounter}`;
  client.send({ action: 'sendMessage', message, request_id: requestId, ...(room ? { room_id: room } : {}) });
  return (await client.waitFor((f) => f.request_id === requestId))[0];
}

const messagesIn = (client: TestClient, room: string): Frame[] => client.matching((f) => f.action === 'message' && f.room_id === room);

describe('several rooms on one socket', () => {
  test('join, talk in two rooms kept apart, leave', async () => {
    const [a, b] = [newRoom(), newRoom()];
    const alice = await connect('alice', a);
    const bob = await connect('bob', a);
    const carol = await connect('carol', b);

    expect(await ask(alice, { action: 'join', room_id: b })).toEqual(expect.objectContaining({ action: 'joined', room_id: b, latest_seq: 0 }));
    // In two rooms, a message must name one.
    expect(await ask(alice, { action: 'sendMessage', message: 'where?' })).toMatchObject({ action: 'error', code: ERROR_CODES.roomMismatch });

    expect(await say(alice, 'to a', a)).toMatchObject({ room_id: a, seq: 1, user_id: 'alice' });
    expect(await say(alice, 'to b', b)).toMatchObject({ room_id: b, seq: 1 });
    await bob.waitFor((f) => f.message === 'to a');
    await carol.waitFor((f) => f.message === 'to b');
    expect(messagesIn(bob, b)).toEqual([]);
    expect(messagesIn(carol, a)).toEqual([]);
    // carol writes to b: alice hears it there.
    await say(carol, 'hi alice');
    await alice.waitFor((f) => f.message === 'hi alice' && f.room_id === b);

    expect(await ask(alice, { action: 'leave', room_id: b })).toMatchObject({ action: 'left', room_id: b });
    await say(carol, 'after she left');
    await say(bob, 'a is still on', a);
    await alice.waitFor((f) => f.message === 'a is still on');
    expect(alice.matching((f) => f.message === 'after she left')).toEqual([]);
    // Back to one room: room_id may be left out again.
    expect(await say(alice, 'only room')).toMatchObject({ room_id: a });
  });

  test('join is idempotent and answers latest_seq; a connection without a handshake room joins later', async () => {
    const room = newRoom();
    const bob = await connect('bob', room);
    await say(bob, 'one');
    await say(bob, 'two');
    const alice = await connect('alice');
    expect(await ask(alice, { action: 'sendMessage', message: 'nowhere' })).toMatchObject({ code: ERROR_CODES.roomMismatch });
    expect(await ask(alice, { action: 'join', room_id: room })).toMatchObject({ action: 'joined', latest_seq: 2 });
    expect(await ask(alice, { action: 'join', room_id: room })).toMatchObject({ action: 'joined', latest_seq: 2 });
    await say(bob, 'three');
    const [three] = await alice.waitFor((f) => f.message === 'three');
    expect(three.seq).toBe(3);
    expect(alice.matching((f) => f.message === 'three')).toHaveLength(1);
  });

  test('the rooms claim governs the handshake and every join; the cap holds; bad ids are refused', async () => {
    const allowed = newRoom();
    expect(await handshakeStatus(connectUrl(gw.url, { token: gw.devToken('dan', { rooms: [allowed] }), room_id: newRoom() }))).toBe(403);
    const dan = await connect('dan', allowed, [allowed]);
    expect(await ask(dan, { action: 'join', room_id: newRoom() })).toMatchObject({ action: 'error', code: ERROR_CODES.forbiddenRoom });
    expect(await ask(dan, { action: 'join', room_id: 'bad room' })).toMatchObject({ action: 'error', code: ERROR_CODES.invalidRoom });

    const eve = await connect('eve', newRoom());
    for (let i = 0; i < 3; i++) expect(await ask(eve, { action: 'join', room_id: newRoom() })).toMatchObject({ action: 'joined' });
    expect(await ask(eve, { action: 'join', room_id: newRoom() })).toMatchObject({ action: 'error', code: ERROR_CODES.tooManyRooms });
    // Refused joins wrote nothing: dan is in one room, eve in four.
    const memberships = (await gw.rows()).filter((r) => r.sk?.S?.startsWith('room#'));
    expect(memberships.filter((r) => r.user_id?.S === 'dan').map((r) => r.room_id?.S)).toEqual([allowed]);
    expect(memberships.filter((r) => r.user_id?.S === 'eve')).toHaveLength(4);
  });
});

describe('nothing lost across a reconnect', () => {
  test('bob is away while alice sends 50; he replays from his last seq and gets exactly those 50, in order, once', async () => {
    const room = newRoom();
    const alice = await connect('alice', room);
    let bob = await connect('bob', room);
    await say(alice, 'before');
    const [seen] = await bob.waitFor((f) => f.message === 'before');
    const lastSeq = seen.seq as number;

    const closed = waitForEvent(gw.events, 'disconnect');
    await bob.close();
    await closed;
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      sent.push(`missed ${i}`);
      alice.send({ action: 'sendMessage', message: `missed ${i}` });
    }
    await alice.waitFor((f) => typeof f.message === 'string' && f.message.startsWith('missed'), 50, 30_000);

    bob = await connect('bob', room);
    const replay = await ask(bob, { action: 'history', room_id: room, after_seq: lastSeq, limit: 100 });
    expect(replay).toMatchObject({ action: 'history', room_id: room, has_more: false, latest_seq: lastSeq + 50 });
    const messages = replay.messages as Frame[];
    expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => lastSeq + 1 + i));
    expect([...messages.map((m) => m.message)].sort()).toEqual([...sent].sort());
    expect(new Set(messages.map((m) => m.message_id)).size).toBe(50);
    // They are the very frames alice's copies were (same ids, seqs and text).
    const atAlice = new Map(alice.matching((f) => f.action === 'message').map((f) => [f.message_id, f]));
    for (const m of messages) expect(atAlice.get(m.message_id)).toMatchObject({ seq: m.seq, message: m.message });
    recordFigures('replay', { missedWhileAway: 50, replayed: messages.length, distinct: new Set(messages.map((m) => m.message_id)).size, inOrder: true });
  });

  test('a gap in seq is detectable and fetchable: a failed store leaves a seq that history skips', async () => {
    const room = newRoom();
    const alice = await connect('alice', room);
    const bob = await connect('bob', room);
    await say(alice, 'first');
    // A store that failed after taking its seq (the sender got UNAVAILABLE): the counter moved, nothing stored.
    await gw.dynamo.send(new UpdateItemCommand({
      TableName: gw.tableNames.messages,
      Key: { [MESSAGES.partitionKey]: { S: room }, [MESSAGES.sortKey]: { N: '0' } },
      UpdateExpression: 'ADD #l :one',
      ExpressionAttributeNames: { '#l': MESSAGES.lastSeq },
      ExpressionAttributeValues: { ':one': { N: '1' } },
    }));
    await say(alice, 'third');
    const seqs = (await bob.waitFor((f) => f.action === 'message', 2)).map((f) => f.seq);
    expect(seqs).toEqual([1, 3]);
    const gap = await ask(bob, { action: 'history', room_id: room, after_seq: 1, limit: 1 });
    // Seq 2 was never stored: history goes straight to 3 — the client skips 2.
    expect(gap).toMatchObject({ latest_seq: 3, has_more: false, messages: [expect.objectContaining({ seq: 3, message: 'third' })] });
    // Paging back from the top finds the same frames.
    expect(((await ask(bob, { action: 'history', room_id: room, before_seq: 4 })).messages as Frame[]).map((m) => m.seq)).toEqual([1, 3]);
  });

  test('history is for members only', async () => {
    const room = newRoom();
    await say(await connect('alice', room), 'secret');
    const eve = await connect('eve', newRoom());
    expect(await ask(eve, { action: 'history', room_id: room })).toMatchObject({ action: 'error', code: ERROR_CODES.roomMismatch });
    expect(await ask(eve, { action: 'presence', room_id: room })).toMatchObject({ action: 'error', code: ERROR_CODES.roomMismatch });
  });
});

describe('seq under concurrent senders', () => {
  test('10 sockets × 20 messages at once: 200 distinct consecutive seqs, one order for everyone, the same in history', async () => {
    const room = newRoom();
    const senders = await Promise.all(Array.from({ length: 10 }, (_, i) => connect(`sender-${i}`, room)));
    const listener = await connect('listener', room);
    for (let m = 0; m < 20; m++) for (const [i, s] of senders.entries()) s.send({ action: 'sendMessage', message: `s${i}-m${m}` });
    const isChat = (f: Frame) => f.action === 'message' && /^s\d+-m\d+$/.test(String(f.message));
    await Promise.all([listener, ...senders].map((c) => c.waitFor(isChat, 200, 60_000)));
    await gw.settled();

    const order = (c: TestClient) => c.matching(isChat).sort((x, y) => Number(x.seq) - Number(y.seq)).map((f) => `${f.seq}:${f.message_id}`);
    const reference = order(listener);
    expect(reference.map((s) => Number(s.split(':')[0]))).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(new Set(reference.map((s) => s.split(':')[1])).size).toBe(200);
    for (const s of senders) expect(order(s)).toEqual(reference);

    const first = await ask(listener, { action: 'history', room_id: room, after_seq: 0, limit: 100 });
    const second = await ask(listener, { action: 'history', room_id: room, after_seq: 100, limit: 100 });
    expect(first.has_more).toBe(true);
    expect(second.has_more).toBe(false);
    const stored = [...(first.messages as Frame[]), ...(second.messages as Frame[])].map((m) => `${m.seq}:${m.message_id}`);
    expect(stored).toEqual(reference);
  }, 120_000);
});

describe('presence', () => {
  test('lists exactly the live users of a room, each once', async () => {
    const room = newRoom();
    const alice = await connect('alice', room);
    await connect('alice', room);
    const bob = await connect('bob', room);
    await connect('carol', newRoom());
    expect(await ask(alice, { action: 'presence', room_id: room })).toMatchObject({ users: ['alice', 'bob'], connections: 3, truncated: false });
    await bob.close();
    await eventually(async () => {
      const answer = await ask(alice, { action: 'presence', room_id: room });
      return (answer.users as string[]).join() === 'alice' && answer.connections === 2;
    }, 10_000, 'bob to leave the presence list');
  });

  test('member_joined / member_left in rooms up to the limit (3 here), not above it', async () => {
    const room = newRoom();
    const alice = await connect('alice', room);
    const bob = await connect('bob', room);
    await alice.waitFor((f) => f.action === 'member_joined' && f.user_id === 'bob');
    // A second connection of bob: not his first, no event.
    const bob2 = await connect('bob', room);
    const carol = await connect('carol', newRoom());
    expect(await ask(carol, { action: 'join', room_id: room })).toMatchObject({ action: 'joined' });
    // The room had 3 connections when carol joined: at the limit of 3, so 4 with her — no event.
    await say(bob, 'sync');
    await alice.waitFor((f) => f.message === 'sync');
    expect(alice.matching((f) => f.action === 'member_joined').map((f) => f.user_id)).toEqual(['bob']);

    // Back under the limit: carol leaves (no event: 4 > 3), bob's second connection closes (not his last), then bob's
    // last one leaves: alice hears it.
    await ask(carol, { action: 'leave', room_id: room });
    await bob2.close();
    await gw.settled();
    await ask(bob, { action: 'leave', room_id: room });
    await alice.waitFor((f) => f.action === 'member_left' && f.user_id === 'bob');
    expect(alice.matching((f) => f.action === 'member_left').map((f) => f.user_id)).toEqual(['bob']);
    expect(bob.matching((f) => f.action === 'member_joined' || f.action === 'member_left')).toEqual([]);
  });
});

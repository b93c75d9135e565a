import type { FakeConnection, Frame } from './support/fake-chat-server';
import { cleanUp, connectClient, startServer, until } from './support/fixtures';
import { ChatError } from '../../packages/client/src';

/** Requests are matched to answers by request_id, and fail with typed errors. */

afterEach(cleanUp);

test('answers are matched to requests by request_id, also when they come back out of order', async () => {
  const server = await startServer();
  const held: Array<{ connection: FakeConnection; frame: Frame }> = [];
  server.intercept = (connection, frame) => {
    if (frame.action !== 'presence') return false;
    held.push({ connection, frame });
    return true;
  };
  const { client } = connectClient(server, { room: 'r1' });
  await client.join('r2');
  const first = client.presence('r1');
  const second = client.presence('r2');
  await until(() => held.length === 2, 'both presence requests');
  expect(held[0].frame.request_id).not.toEqual(held[1].frame.request_id);
  // Answer the second request first.
  for (const { connection, frame } of [...held].reverse()) {
    connection.send({ action: 'presence', room_id: frame.room_id, users: [`of-${frame.room_id}`], connections: 1, truncated: false, request_id: frame.request_id });
  }
  expect((await first).users).toEqual(['of-r1']);
  expect((await second).users).toEqual(['of-r2']);
});

test('join, send, presence, history and leave resolve with the server answers', async () => {
  const server = await startServer();
  server.post('lobby', 'before');
  const { client } = connectClient(server);
  expect(await client.join('lobby')).toMatchObject({ action: 'joined', room_id: 'lobby', latest_seq: 1 });
  const sent = await client.send('lobby', 'hello');
  expect(sent).toMatchObject({ action: 'message', room_id: 'lobby', seq: 2, user_id: 'alice', message: 'hello' });
  expect(await client.presence('lobby')).toMatchObject({ users: ['alice'], connections: 1, truncated: false });
  const page = await client.history('lobby', { afterSeq: 0, limit: 1 });
  expect(page).toMatchObject({ action: 'history', latest_seq: 2, has_more: true });
  expect(page.messages.map((frame) => frame.seq)).toEqual([1]);
  expect((await client.history('lobby', { beforeSeq: 3, limit: 5 })).messages.map((frame) => frame.seq)).toEqual([1, 2]);
  expect(await client.leave('lobby')).toMatchObject({ action: 'left', room_id: 'lobby' });
  const history = server.sent('history');
  expect(history[history.length - 1]).toMatchObject({ before_seq: 3, limit: 5 });
  expect(history[history.length - 1]).not.toHaveProperty('after_seq');
});

test('a server error rejects its request with a ChatError carrying the protocol code and request_id', async () => {
  const server = await startServer();
  server.forbiddenRooms.add('vip');
  const { client } = connectClient(server);
  const error = await client.join('vip').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ChatError);
  expect(error).toMatchObject({ code: 'FORBIDDEN_ROOM', requestId: server.sent('join')[0].request_id });
  // A refused room is not joined again on the next connection.
  await expect(client.send('vip', 'x')).rejects.toMatchObject({ code: 'ROOM_MISMATCH' });

  server.historyEnabled = false;
  await client.join('plain');
  await expect(client.history('plain', { afterSeq: 0 })).rejects.toMatchObject({ code: 'UNKNOWN_ACTION' });
});

test('an unanswered request fails with TIMEOUT', async () => {
  const server = await startServer();
  server.intercept = (_connection, frame) => frame.action === 'presence';
  const { client } = connectClient(server, { room: 'r1', requestTimeoutMs: 50 });
  await expect(client.presence('r1')).rejects.toMatchObject({ code: 'TIMEOUT' });
});

test('a frame over 32 KB is refused before it is sent', async () => {
  const server = await startServer();
  const { client } = connectClient(server, { room: 'r1' });
  await client.join('r1');
  await expect(client.send('r1', 'é'.repeat(16 * 1024))).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
  expect(server.sent('sendMessage')).toHaveLength(0);
  await expect(client.send('r1', 'x'.repeat(30 * 1024))).resolves.toMatchObject({ seq: 1 });
});

describe('API Gateway\'s bare "Internal server error" frame', () => {
  const bare = { message: 'Internal server error', connectionId: 'abc=', requestId: 'req-1' };

  test('rejects the one request in flight', async () => {
    const server = await startServer();
    server.intercept = (connection, frame) => {
      if (frame.action !== 'presence') return false;
      connection.send(bare);
      return true;
    };
    const { client, errors } = connectClient(server, { room: 'r1' });
    await client.join('r1');
    await expect(client.presence('r1')).rejects.toMatchObject({ code: 'INTERNAL_ERROR', message: 'Internal server error' });
    expect(errors).toHaveLength(0);
  });

  test('is an error event when several requests are in flight, and they still settle', async () => {
    const server = await startServer();
    const held: Array<{ connection: FakeConnection; frame: Frame }> = [];
    server.intercept = (connection, frame) => {
      if (frame.action !== 'presence') return false;
      held.push({ connection, frame });
      return true;
    };
    const h = connectClient(server, { room: 'r1' });
    await h.client.join('r1');
    const answers = [h.client.presence('r1'), h.client.presence('r1')];
    await until(() => held.length === 2, 'both requests');
    held[0].connection.send(bare);
    await until(() => h.errors.length === 1, 'the error event');
    expect(h.errors[0]).toMatchObject({ code: 'INTERNAL_ERROR' });
    for (const { connection, frame } of held) {
      connection.send({ action: 'presence', room_id: 'r1', users: [], connections: 0, truncated: false, request_id: frame.request_id });
    }
    await expect(Promise.all(answers)).resolves.toHaveLength(2);
  });

  test('is an error event when no request is in flight', async () => {
    const server = await startServer();
    const h = connectClient(server, { room: 'r1' });
    await h.client.join('r1');
    server.live()[0].send(bare);
    await until(() => h.errors.length === 1, 'the error event');
    expect(h.errors[0]).toBeInstanceOf(ChatError);
  });
});

test('INVALID_ROOM and TOO_MANY_ROOMS reject the join and drop the room (as the real handlers answer)', async () => {
  const server = await startServer();
  server.maxRooms = 2;
  const h = connectClient(server);
  await expect(h.client.join('bad room')).rejects.toMatchObject({ code: 'INVALID_ROOM' });
  await h.client.join('a');
  await h.client.join('b');
  await expect(h.client.join('c')).rejects.toMatchObject({ code: 'TOO_MANY_ROOMS' });
  // The next connection joins the two rooms it holds, and nothing else.
  server.live()[0].terminate();
  await until(() => server.connections.length === 2 && h.client.state === 'open', 'the reconnect');
  expect(server.connections[1].received.filter((f) => f.action === 'join').map((f) => f.room_id).sort()).toEqual(['a', 'b']);
  expect(h.errors).toEqual([]);
});

describe('a membership the server lost (ROOM_MISMATCH for a joined room)', () => {
  test('the client joins again on that connection, replays what it missed, and sends once more', async () => {
    const server = await startServer();
    const h = connectClient(server, { room: 'r' });
    await until(() => h.client.state === 'open', 'open');
    server.post('r', 'one');
    await until(() => h.messages.length === 1, 'the first message');
    const [connection] = server.live();
    server.forget(connection, 'r');
    server.post('r', 'missed'); // not delivered: the connection is no longer in the room
    const sent = await h.client.send('r', 'mine');
    expect(sent).toMatchObject({ message: 'mine', seq: 3 });
    await until(() => h.messages.length === 3, 'the replay');
    expect(h.messages.map((m) => m.message)).toEqual(['one', 'missed', 'mine']);
    const frames = connection.received.map((f) => f.action);
    expect(frames.slice(-4)).toEqual(['sendMessage', 'join', 'history', 'sendMessage']);
    expect(server.connections).toHaveLength(1);
    expect(h.errors).toEqual([]);
  });

  test('only once: a second ROOM_MISMATCH rejects', async () => {
    const server = await startServer();
    server.intercept = (connection, frame) => {
      if (frame.action !== 'presence') return false;
      connection.send({ action: 'error', code: 'ROOM_MISMATCH', message: 'not a member', request_id: frame.request_id });
      return true;
    };
    const h = connectClient(server, { room: 'r' });
    await expect(h.client.presence('r')).rejects.toMatchObject({ code: 'ROOM_MISMATCH' });
    expect(server.sent('presence')).toHaveLength(2);
    expect(server.sent('join')).toHaveLength(2);
  });

  test('a room the client is not in is not joined behind its back', async () => {
    const server = await startServer();
    const h = connectClient(server, { room: 'r' });
    await expect(h.client.send('elsewhere', 'x')).rejects.toMatchObject({ code: 'ROOM_MISMATCH' });
    expect(server.sent('join').map((f) => f.room_id)).toEqual(['r']);
  });
});

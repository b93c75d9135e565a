import { cleanUp, connectClient, sleep, startServer, texts, until } from './support/fixtures';

/** Reconnects: backoff after an unexpected close, re-join and replay, fresh tokens, and no retry storm on refusals. */

afterEach(cleanUp);

test('after an unexpected close the client reconnects, re-joins, and replays what it missed, once each', async () => {
  const server = await startServer();
  const h = connectClient(server);
  await h.client.join('r');
  await h.client.join('s');
  server.post('r', 'one');
  server.post('r', 'two');
  await until(() => h.messages.length === 2, 'two messages');

  const first = server.live()[0];
  first.terminate();
  server.store('r', 'three'); // while the client is away
  server.store('r', 'four');
  server.store('s', 'in s');
  await until(() => h.messages.length === 5, 'the replay');
  const second = server.connections[1];
  expect(second.received.filter((frame) => frame.action === 'join').map((frame) => frame.room_id).sort()).toEqual(['r', 's']);
  expect(second.received.filter((frame) => frame.action === 'history')).toEqual([
    expect.objectContaining({ room_id: 'r', after_seq: 2 }),
    expect.objectContaining({ room_id: 's', after_seq: 0 }),
  ]);

  // At least once on the wire: a redelivery after the reconnect is dropped.
  server.deliver('r', { ...h.messages[1] });
  server.post('r', 'five');
  await until(() => h.messages.length === 6, 'the next live message');
  await sleep(20);
  expect(texts(h)).toEqual(['one', 'two', 'three', 'four', 'in s', 'five']);
  expect(h.states).toEqual(['open', 'reconnecting', 'open']);
});

test('an idempotent request in flight is sent again after a reconnect; a send in flight fails with DISCONNECTED', async () => {
  const server = await startServer();
  server.intercept = (connection, frame) => {
    if (connection.id !== 1 || (frame.action !== 'presence' && frame.action !== 'sendMessage')) return false;
    if (connection.received.length === 3) setTimeout(() => connection.terminate(), 5);
    return true; // the first connection swallows both, then drops
  };
  const h = connectClient(server);
  await h.client.join('r');
  const presence = h.client.presence('r');
  const sent = h.client.send('r', 'lost?');
  await expect(sent).rejects.toMatchObject({ code: 'DISCONNECTED' });
  await expect(presence).resolves.toMatchObject({ users: ['alice'] });
  expect(server.connections[1].received.map((frame) => frame.action)).toEqual(['join', 'presence']);
});

test('requests made while disconnected wait for the connection', async () => {
  const server = await startServer();
  const h = connectClient(server);
  await h.client.join('r');
  server.live()[0].terminate();
  await until(() => h.client.state === 'reconnecting', 'reconnecting');
  const sent = await h.client.send('r', 'queued');
  expect(sent).toMatchObject({ message: 'queued', seq: 1 });
  expect(server.connections).toHaveLength(2);
});

test('getToken is called for every connection; the room option is joined with a join frame on each, never in the URL', async () => {
  const server = await startServer();
  let calls = 0;
  const h = connectClient(server, { token: undefined, getToken: async () => `alice-${++calls}`, room: 'home' });
  await until(() => h.client.state === 'open', 'open');
  server.live()[0].terminate();
  await until(() => server.live().length === 1 && server.connections.length === 2 && h.client.state === 'open', 'the reconnect');
  await h.client.leave('home');
  await h.client.join('elsewhere');
  server.live()[0].terminate();
  await until(() => server.connections.length === 3 && h.client.state === 'open', 'the second reconnect');
  expect(server.attempts).toEqual([
    { token: 'alice-1', roomId: null, status: 101 },
    { token: 'alice-2', roomId: null, status: 101 },
    { token: 'alice-3', roomId: null, status: 101 },
  ]);
  expect(server.connections[0].received[0]).toMatchObject({ action: 'join', room_id: 'home' });
  expect(server.connections[1].received[0]).toMatchObject({ action: 'join', room_id: 'home' });
  expect(server.connections[2].received[0]).toMatchObject({ action: 'join', room_id: 'elsewhere' });
});

test('after closes before open, a fresh token from getToken gets through', async () => {
  const server = await startServer();
  const tokens = ['expired', 'expired', 'expired', 'fresh'];
  server.refuse = (token) => (token === 'expired' ? 401 : undefined);
  let calls = 0;
  const h = connectClient(server, { token: undefined, getToken: () => tokens[calls++] });
  const joined = h.client.join('r');
  await expect(joined).resolves.toMatchObject({ room_id: 'r' });
  expect(server.attempts.map((attempt) => attempt.status)).toEqual([401, 401, 401, 101]);
  expect(calls).toBe(4);
  expect(h.states).toEqual(['open']);
});

test('a handshake refused again and again stops the client: no retry storm', async () => {
  const server = await startServer();
  server.refuse = () => 403;
  const h = connectClient(server);
  const joined = h.client.join('r');
  await until(() => h.client.state === 'closed', 'the client to stop');
  await expect(joined).rejects.toMatchObject({ code: 'REFUSED' });
  expect(h.states).toEqual(['closed']);
  expect(h.errors.map((error) => error.code)).toEqual(['REFUSED']);
  await sleep(200);
  expect(server.attempts).toHaveLength(4); // maxRefusals (3), then one last try with a fresh token
  await expect(h.client.send('r', 'x')).rejects.toMatchObject({ code: 'CLOSED' });
});

test('a getToken that keeps failing stops the client the same way', async () => {
  const server = await startServer();
  const getToken = jest.fn(async () => {
    throw new Error('token service down');
  });
  const h = connectClient(server, { token: undefined, getToken, maxRefusals: 1 });
  await until(() => h.client.state === 'closed', 'closed');
  expect(getToken).toHaveBeenCalledTimes(2);
  expect(server.attempts).toHaveLength(0);
  expect(h.errors.map((error) => error.code)).toEqual(['REFUSED']);
});

test('a handshake that never completes is abandoned after connectTimeoutMs', async () => {
  const server = await startServer();
  server.refuse = () => (server.attempts.length === 0 ? 0 : undefined);
  const h = connectClient(server, { connectTimeoutMs: 50 });
  await expect(h.client.join('r')).resolves.toMatchObject({ room_id: 'r' });
  expect(server.attempts.map((attempt) => attempt.status)).toEqual([0, 101]);
});

test('closes after open are not refusals: the client keeps reconnecting with backoff', async () => {
  const server = await startServer();
  const h = connectClient(server);
  const joined = h.client.join('r');
  // Each of the first five connections drops at the join; the sixth answers.
  server.intercept = (connection) => {
    if (connection.id > 5) return false;
    connection.terminate();
    return true;
  };
  await expect(joined).resolves.toMatchObject({ room_id: 'r' });
  expect(server.connections).toHaveLength(6);
  expect(h.client.state).toBe('open');
});

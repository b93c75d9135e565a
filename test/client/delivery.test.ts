import { cleanUp, connectClient, sleep, startServer, texts, until } from './support/fixtures';

/** Listeners see each frame once, in seq order per room; gaps are filled from history, or skipped after a while. */

afterEach(cleanUp);

test('a frame delivered twice reaches listeners once', async () => {
  const server = await startServer();
  const h = connectClient(server);
  await h.client.join('r');
  const frame = server.post('r', 'once');
  server.deliver('r', frame);
  server.post('r', 'after');
  await until(() => h.messages.length >= 2, 'two messages');
  await sleep(20);
  expect(texts(h)).toEqual(['once', 'after']);
});

test('frames without seq (history off) are delivered as they come, without duplicates', async () => {
  const server = await startServer();
  server.historyEnabled = false;
  const h = connectClient(server);
  expect(await h.client.join('r')).not.toHaveProperty('latest_seq');
  const first = server.post('r', 'one');
  server.post('r', 'two');
  server.deliver('r', first);
  server.post('r', 'three');
  await until(() => h.messages.length >= 3, 'three messages');
  await sleep(20);
  expect(texts(h)).toEqual(['one', 'two', 'three']);
  expect(server.sent('history')).toHaveLength(0);
});

test('a later seq is held while the gap is read from history, then both arrive in order', async () => {
  const server = await startServer();
  const h = connectClient(server);
  await h.client.join('r');
  server.post('r', 'one');
  server.store('r', 'two'); // stored, but its live copy is late
  const three = server.post('r', 'three');
  await until(() => h.messages.length === 3, 'the gap filled');
  expect(texts(h)).toEqual(['one', 'two', 'three']);
  expect(server.sent('history')).toEqual([expect.objectContaining({ room_id: 'r', after_seq: 1, limit: 100 })]);
  // The late live copy and a redelivery change nothing.
  server.deliver('r', { ...three, seq: 2, message_id: 'msg-2', message: 'two' });
  server.deliver('r', three);
  await sleep(20);
  expect(texts(h)).toEqual(['one', 'two', 'three']);
});

test('a seq still missing after gapTimeoutMs is skipped; later frames are held until then', async () => {
  const server = await startServer();
  const h = connectClient(server, { gapTimeoutMs: 400 });
  await h.client.join('r');
  server.post('r', 'one');
  server.lose('r'); // seq 2 is never stored
  const start = Date.now();
  server.post('r', 'three');
  await until(() => server.sent('history').length === 1, 'the history read');
  await sleep(20); // the answer came back without seq 2
  expect(texts(h)).toEqual(['one']);
  await until(() => h.messages.length === 2, 'the skip', 2_000);
  expect(Date.now() - start).toBeGreaterThanOrEqual(390);
  expect(texts(h)).toEqual(['one', 'three']);
  // Frames after the skip flow at once.
  server.post('r', 'four');
  await until(() => h.messages.length === 3, 'the next message');
  expect(h.messages.map((message) => message.seq)).toEqual([1, 3, 4]);
});

test('a gap wider than one history page is read page by page', async () => {
  const server = await startServer();
  const h = connectClient(server);
  await h.client.join('r');
  for (let i = 1; i <= 250; i++) server.store('r', `m${i}`);
  server.post('r', 'm251');
  await until(() => h.messages.length === 251, 'all 251 messages');
  expect(h.messages.map((message) => message.seq)).toEqual(Array.from({ length: 251 }, (_, i) => i + 1));
  expect(server.sent('history').map((frame) => frame.after_seq)).toEqual([0, 100, 200]);
});

test('room events share the room sequence; events to the user are de-duplicated by event_id', async () => {
  const server = await startServer();
  const h = connectClient(server);
  await h.client.join('r');
  server.post('r', 'one');
  const event = server.pushEvent('r', 'order.shipped', { id: 7 });
  server.deliver('r', event);
  server.post('r', 'three');
  const direct = { action: 'event', event_id: 'evt-user', type: 'notice', data: 'hi', timestamp: new Date().toISOString() };
  server.live()[0].send(direct);
  server.live()[0].send(direct);
  await until(() => h.messages.length === 2 && h.events.length === 2, 'the frames');
  await sleep(20);
  expect(h.events.map((e) => e.event_id)).toEqual([event.event_id, 'evt-user']);
  expect(h.events[0]).toMatchObject({ type: 'order.shipped', data: { id: 7 }, seq: 2 });
});

test('frames of a room the client has not joined, or has left, are ignored', async () => {
  const server = await startServer();
  const h = connectClient(server);
  await h.client.join('r');
  await h.client.join('other');
  await h.client.leave('other');
  server.live()[0].rooms.add('other'); // the server still thinks it is a member
  server.post('other', 'not for you');
  server.post('r', 'for you');
  await until(() => h.messages.length === 1, 'the message');
  await sleep(20);
  expect(texts(h)).toEqual(['for you']);
});

test('member_joined and member_left reach listeners', async () => {
  const server = await startServer();
  const h = connectClient(server);
  const members: string[] = [];
  h.client.on('member_joined', (frame) => members.push(`+${frame.user_id}`));
  h.client.on('member_left', (frame) => members.push(`-${frame.user_id}`));
  await h.client.join('r');
  server.deliver('r', { action: 'member_joined', room_id: 'r', user_id: 'bob' });
  server.deliver('r', { action: 'member_left', room_id: 'r', user_id: 'bob' });
  await until(() => members.length === 2, 'both events');
  expect(members).toEqual(['+bob', '-bob']);
});

test('a throwing listener does not stop the others; its exception is reported asynchronously', async () => {
  const server = await startServer();
  const h = connectClient(server);
  const original = globalThis.queueMicrotask;
  const reports = jest.fn();
  globalThis.queueMicrotask = reports;
  try {
    h.client.on('message', () => {
      throw new Error('listener bug');
    });
    await h.client.join('r');
    server.post('r', 'one');
    server.post('r', 'two');
    await until(() => h.messages.length === 2, 'both messages');
  } finally {
    globalThis.queueMicrotask = original;
  }
  expect(texts(h)).toEqual(['one', 'two']);
  expect(reports).toHaveBeenCalledTimes(2);
  expect(() => reports.mock.calls[0][0]()).toThrow('listener bug');
});

test('member events as the server sends them: a user\'s first connection in, its last one out', async () => {
  const server = await startServer();
  const alice = connectClient(server, { room: 'r' });
  const members: string[] = [];
  alice.client.on('member_joined', (frame) => members.push(`+${frame.user_id}`));
  alice.client.on('member_left', (frame) => members.push(`-${frame.user_id}`));
  await until(() => alice.client.state === 'open', 'open');
  const bob = connectClient(server, { token: 'bob', room: 'r' });
  const bob2 = connectClient(server, { token: 'bob', room: 'r' });
  await until(() => bob.client.state === 'open' && bob2.client.state === 'open', 'bob twice');
  expect(await alice.client.presence('r')).toMatchObject({ users: ['alice', 'bob'], connections: 3 });
  bob.client.close();
  await until(() => server.live().length === 2, 'one of bob\'s connections to close');
  bob2.client.close();
  await until(() => members.length === 2, 'bob to leave');
  expect(members).toEqual(['+bob', '-bob']);
});

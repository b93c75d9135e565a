import { FakeClock, type Scheduled } from './support/fake-clock';
import { cleanUp, connectClient, sleep, startServer, texts, until } from './support/fixtures';

/** API Gateway ends every connection after 2 hours: the client switches to a new one before, without a gap. */

afterEach(cleanUp);

test('the client rotates to a new connection, overlapping: the new one is joined before the old one closes', async () => {
  const server = await startServer();
  const joinedAt = new Map<number, number>();
  server.intercept = (connection, frame) => {
    if (frame.action === 'join') joinedAt.set(connection.id, Date.now());
    return false;
  };
  const h = connectClient(server, { rotateAfterMs: [60, 90], overlapMs: 30 });
  await h.client.join('r');
  const posted: string[] = [];
  for (let i = 0; server.connections.length < 4; i++) {
    posted.push(server.post('r', `m${i}`).message);
    await sleep(3);
  }
  await until(() => h.messages.length === posted.length, 'every message');
  await sleep(50);

  expect(texts(h)).toEqual(posted);
  expect(h.states).toEqual(['open']); // a rotation is not a reconnect
  const [first, second, third] = server.connections;
  for (const [old, next] of [[first, second], [second, third]]) {
    expect(old.closedAt).toBeDefined();
    expect(joinedAt.get(next.id)).toBeLessThanOrEqual(old.closedAt!);
    expect(old.closedAt! - joinedAt.get(next.id)!).toBeGreaterThanOrEqual(25); // the overlap
  }
  expect(server.live().length).toBeLessThanOrEqual(2);
});

test('a message stored during the switch and delivered to neither connection is replayed', async () => {
  const server = await startServer();
  const h = connectClient(server, { rotateAfterMs: [30, 30], overlapMs: 10 });
  await h.client.join('r');
  server.post('r', 'one');
  let stored = false;
  server.intercept = (connection, frame) => {
    // The new connection's join: a message lands in the store, but its fan-out reached nobody.
    if (connection.id === 2 && frame.action === 'join' && !stored) {
      stored = true;
      server.store('r', 'two');
    }
    return false;
  };
  await until(() => h.messages.length === 2, 'the replay');
  expect(texts(h)).toEqual(['one', 'two']);
  expect(server.sent('history')).toEqual([expect.objectContaining({ room_id: 'r', after_seq: 1 })]);
});

test('a rotation refused again and again keeps the working connection', async () => {
  const server = await startServer();
  const h = connectClient(server, { rotateAfterMs: [20, 20] });
  await h.client.join('r');
  server.refuse = () => 401;
  await until(() => server.attempts.length === 5, 'four refused rotation attempts');
  await sleep(50);
  expect(server.attempts).toHaveLength(5); // no further attempts while the connection works
  expect(h.client.state).toBe('open');
  server.post('r', 'still here');
  await until(() => h.messages.length === 1, 'a message on the old connection');
});

test('over two hours of default durations: pings every 5 idle minutes, one rotation between 100 and 115 minutes', async () => {
  const server = await startServer();
  const clock = new FakeClock();
  const pingsAt: number[] = [];
  server.intercept = (_connection, frame) => {
    if (frame.action === 'ping') pingsAt.push(clock.now);
    return false;
  };
  const h = connectClient(server, {
    timers: clock,
    random: () => 0.5,
    requestTimeoutMs: undefined,
    connectTimeoutMs: undefined,
    pingAfterMs: undefined,
    rotateAfterMs: undefined,
    overlapMs: undefined,
    gapTimeoutMs: undefined,
  });
  await h.client.join('r');
  const minute = 60_000;
  // Before a deadline (a ping's or a request's 10 s, a handshake's 15 s) fires, give the real socket time to clear it.
  const settle = async (next: Scheduled) => {
    if (next.ms === 10_000 || next.ms === 15_000) await until(() => !clock.isPending(next.id), 'the answer', 2_000).catch(() => undefined);
    else await sleep(2);
  };

  await clock.advance(107 * minute, settle);
  expect(server.connections).toHaveLength(1);
  expect(pingsAt).toEqual(Array.from({ length: 21 }, (_, i) => (i + 1) * 5 * minute));

  await clock.advance(1 * minute, settle); // 107.5 minutes: the middle of the range
  await until(() => server.connections.length === 2 && server.connections[1].received.some((frame) => frame.action === 'join'), 'the rotation');
  await until(() => clock.pendingDelays().includes(2_000), 'the new connection to take over (the overlap timer)');
  expect(server.live()).toHaveLength(2);
  await clock.advance(3_000, settle); // the 2 s overlap
  await until(() => !server.connections[0].open, 'the old connection closed');
  expect(h.states).toEqual(['open']);

  // The server's 2-hour cut of the first connection would come at 120 minutes: it is long gone.
  await clock.advance(14 * minute, settle);
  expect(server.live()).toHaveLength(1);
  server.post('r', 'late');
  await until(() => h.messages.length === 1, 'a message on the new connection');
});

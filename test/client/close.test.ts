import { cleanUp, connectClient, sleep, startServer, until } from './support/fixtures';
import type { Timers } from '../../packages/client/src';

/** close() ends everything: the socket, pending requests, and every timer. */

afterEach(cleanUp);

/** Real timers that count the live ones. */
function countingTimers(): Timers & { readonly live: Set<unknown> } {
  const live = new Set<unknown>();
  return {
    live,
    setTimeout: (callback, ms) => {
      const handle = setTimeout(() => {
        live.delete(handle);
        callback();
      }, ms);
      live.add(handle);
      return handle;
    },
    clearTimeout: (handle) => {
      live.delete(handle);
      clearTimeout(handle as NodeJS.Timeout);
    },
  };
}

test('close() clears every timer, fails pending requests with CLOSED, and closes the socket', async () => {
  const server = await startServer();
  server.intercept = (_connection, frame) => frame.action === 'presence'; // never answered
  const timers = countingTimers();
  const h = connectClient(server, { timers, gapTimeoutMs: 60_000 });
  await h.client.join('r');
  server.lose('r');
  server.post('r', 'held'); // held behind a gap: the gap timer runs
  await until(() => server.sent('history').length === 1, 'the gap read');
  const presence = h.client.presence('r');
  await until(() => server.sent('presence').length === 1, 'the presence request');
  // Ping, rotation, gap and request timers are live.
  expect(timers.live.size).toBeGreaterThanOrEqual(4);

  h.client.close();
  expect(timers.live.size).toBe(0);
  expect(h.client.state).toBe('closed');
  expect(h.states).toEqual(['open', 'closed']);
  await expect(presence).rejects.toMatchObject({ code: 'CLOSED' });
  await until(() => server.live().length === 0, 'the socket closed');
  await expect(h.client.join('r')).rejects.toMatchObject({ code: 'CLOSED' });
  expect(h.messages).toHaveLength(0);
  expect(h.errors).toHaveLength(0);
});

test('close() while waiting to reconnect stops the attempts', async () => {
  const server = await startServer();
  const timers = countingTimers();
  const h = connectClient(server, { timers, backoffBaseMs: 50, backoffMaxMs: 50 });
  await h.client.join('r');
  server.live()[0].terminate();
  await until(() => h.client.state === 'reconnecting', 'reconnecting');
  h.client.close();
  expect(timers.live.size).toBe(0);
  await sleep(100);
  expect(server.connections).toHaveLength(1);
});

test('close() while getToken is pending opens no socket', async () => {
  const server = await startServer();
  let release: (token: string) => void = () => undefined;
  const h = connectClient(server, { token: undefined, getToken: () => new Promise<string>((resolve) => (release = resolve)) });
  await sleep(5);
  h.client.close();
  release('alice');
  await sleep(30);
  expect(server.attempts).toHaveLength(0);
  expect(h.client.state).toBe('closed');
});

test('close() during a rotation\'s overlap clears that timer too and closes both connections', async () => {
  const server = await startServer();
  const timers = countingTimers();
  let draws = 0; // the first rotation after 20 ms, the next one after a minute
  const h = connectClient(server, { timers, rotateAfterMs: [20, 60_000], random: () => (draws++ === 0 ? 0 : 1), overlapMs: 60_000 });
  await h.client.join('r');
  await until(() => server.connections.length === 2 && server.connections[1].received.some((frame) => frame.action === 'join'), 'the rotation');
  await sleep(10);
  expect(server.live()).toHaveLength(2); // overlapping
  h.client.close();
  expect(timers.live.size).toBe(0);
  await until(() => server.live().length === 0, 'both sockets closed');
});

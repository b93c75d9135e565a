import { cleanUp, connectClient, sleep, startServer, until } from './support/fixtures';

/** Pings keep an idle connection under API Gateway's idle timeout; a connection that stops answering is replaced. */

afterEach(cleanUp);

test('the client pings after pingAfterMs without a frame, and not while frames arrive', async () => {
  const server = await startServer();
  const h = connectClient(server, { pingAfterMs: 60 });
  await h.client.join('r');
  await until(() => server.sent('ping').length >= 2, 'two pings');
  expect(server.sent('ping')[0]).toEqual({ action: 'ping' });

  const before = server.sent('ping').length;
  for (let i = 0; i < 15; i++) {
    server.post('r', `m${i}`);
    await sleep(10);
  }
  expect(server.sent('ping').length - before).toBeLessThanOrEqual(1); // at most the one already due
  expect(h.states).toEqual(['open']);
});

test('a connection that does not answer a ping is dropped and replaced', async () => {
  const server = await startServer();
  server.intercept = (connection, frame) => connection.id === 1 && frame.action === 'ping'; // no pong, ever
  const h = connectClient(server, { pingAfterMs: 30, requestTimeoutMs: 40 });
  await h.client.join('r');
  await until(() => server.connections.length === 2 && h.client.state === 'open', 'the new connection');
  expect(server.connections[0].open).toBe(false);
  expect(h.states).toEqual(['open', 'reconnecting', 'open']);
  server.post('r', 'after');
  await until(() => h.messages.length === 1, 'a message on the new connection');
});

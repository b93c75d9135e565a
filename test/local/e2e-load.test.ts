import { ENV } from '../../src/shared/contract';
import { REAL_HANDLERS, startTestGateway, type TestGateway } from '../support/local-gateway';
import { assertRealBundles, joseToken } from '../support/real-handlers';
import { connectUrl, TestClient } from '../support/ws-client';

/**
 * Load, end to end on the real bundles: 200 sockets in one room, 20 messages from a few senders; every
 * message reaches every socket exactly once (counted by message_id).
 */

assertRealBundles();

const SOCKETS = 200;
const MESSAGES = 20;
const SENDERS = 4;
const ROOM = 'load-room';

let gw: TestGateway;
let clients: TestClient[] = [];

beforeAll(async () => {
  gw = await startTestGateway({
    handlersDir: REAL_HANDLERS,
    // The fan-out retries a post that times out (at-least-once). On a busy 2-core test machine the gateway,
    // the handlers and 200 clients share the CPU, so give a post longer than the deployed 3 s before it
    // counts as timed out: this test is about the gateway delivering each post exactly once.
    handlerEnv: { [ENV.postTimeoutMs]: '20000' },
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await gw?.close();
});

test(`${SOCKETS} sockets × ${MESSAGES} messages: each message reaches each socket exactly once`, async () => {
  const tokens = await Promise.all(Array.from({ length: SOCKETS }, (_, i) => joseToken(gw.secret, { sub: `user-${i}` })));
  // Connect in waves (API Gateway's own limit is 500 new connections per second).
  for (let i = 0; i < SOCKETS; i += 50) {
    const wave = await Promise.allSettled(tokens.slice(i, i + 50).map((token) => TestClient.connect(connectUrl(gw.url, { room_id: ROOM, token }))));
    for (const outcome of wave) if (outcome.status === 'fulfilled') clients.push(outcome.value);
    const refused = wave.flatMap((outcome) => (outcome.status === 'rejected' ? [(outcome.reason as Error).message] : []));
    if (refused.length > 0) {
      // The client only sees "500"; the gateway's log says which function failed and how.
      const why = gw.logs.filter((line) => / rejected |failed|error/.test(line));
      throw new Error(`${refused.length} handshakes refused: ${refused[0]}\ngateway log:\n${why.join('\n')}\nfunctions:\n${gw.handlerLogs.join('\n')}\nruntime: ${JSON.stringify(gw.lambdaStats())}`);
    }
  }
  expect(gw.connectionIds()).toHaveLength(SOCKETS);
  // A connection item and a membership item each.
  expect(await gw.rows()).toHaveLength(2 * SOCKETS);

  const sent: string[] = [];
  for (let m = 0; m < MESSAGES; m++) {
    const text = `load message ${m}`;
    sent.push(text);
    clients[m % SENDERS].send({ action: 'sendMessage', message: text });
  }
  await Promise.all(clients.map((c) => c.waitFor((f) => f.action === 'message', MESSAGES, 45_000)));
  // Nothing in flight any more: a duplicate post would have arrived by now.
  await gw.settled();

  const reference = new Map<string, string>();
  for (const frame of clients[0].frames) reference.set(frame.message_id as string, frame.message as string);
  expect([...reference.values()].sort()).toEqual([...sent].sort());
  for (const [index, client] of clients.entries()) {
    const messages = client.frames.filter((f) => f.action === 'message');
    const counts = new Map<string, number>();
    for (const frame of messages) counts.set(frame.message_id as string, (counts.get(frame.message_id as string) ?? 0) + 1);
    if (messages.length !== MESSAGES || counts.size !== MESSAGES || [...counts.keys()].some((id) => !reference.has(id))) {
      const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => reference.get(id));
      const missing = [...reference].filter(([id]) => !counts.has(id)).map(([, text]) => text);
      throw new Error(`socket ${index}: ${messages.length} frames, ${counts.size} distinct ids; duplicated ${duplicated}; missing ${missing}`);
    }
    // Besides messages, only member_joined (while the room was small enough for presence events).
    expect(client.frames.filter((f) => f.action !== 'message' && f.action !== 'member_joined')).toEqual([]);
  }
  const senders = new Set(clients[0].frames.map((f) => f.user_id));
  expect(senders.size).toBe(SENDERS);
});

import { REAL_HANDLERS, startTestGateway, type TestGateway } from '../support/local-gateway';
import { assertRealBundles } from '../support/real-handlers';
import { closeGatewayClients, gatewayClient, opened, publish, sleep, until, type Recorded } from './support/gateway-client';

/**
 * The 2-hour limit, shortened: a real local gateway that ends every connection 3 s after it opened (as API Gateway
 * does after 2 hours). With the client's rotation below that, it switches to a new connection before the cut (the
 * old one is closed by the client, never by the gateway); with the rotation above it, the gateway closes first and
 * the client reconnects and replays. Either way, while messages and events flow, the listener sees each once, in
 * `seq` order.
 */

assertRealBundles();

const MAX_DURATION_SECONDS = 3;

let gw: TestGateway;
/** The gateway's disconnects: connection id → close code. */
const closes = new Map<string, number>();
/** Connection ids by user. */
const connectionsOf = new Map<string, string[]>();

beforeAll(async () => {
  gw = await startTestGateway({ handlersDir: REAL_HANDLERS, maxDurationSeconds: MAX_DURATION_SECONDS });
  gw.events.on('connect', (e) => {
    const user = String(e.authorizer.userId);
    connectionsOf.set(user, [...(connectionsOf.get(user) ?? []), e.connectionId]);
  });
  gw.events.on('disconnect', (e) => closes.set(e.connectionId, e.statusCode));
});
afterEach(async () => {
  closeGatewayClients();
  await gw.settled();
});
afterAll(async () => {
  await gw?.close();
});

/** Sends `text-1`, `text-2`, … one after the other for `ms`; resolves with the texts sent. */
async function sendFor(writer: Recorded, room: string, ms: number, prefix: string): Promise<string[]> {
  const sent: string[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const text = `${prefix}-${sent.length + 1}`;
    await writer.client.send(room, text);
    sent.push(text);
    await sleep(15);
  }
  return sent;
}

/** Publishes events `{ n: 1 }`, `{ n: 2 }`, … to a room for `ms`; resolves with how many. */
async function publishFor(room: string, ms: number): Promise<number> {
  let n = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await publish(gw, { room_id: room, type: 'tick', data: { n: ++n } });
    await sleep(15);
  }
  return n;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

test('rotation before the limit: overlapping switches, no state change, nothing lost or doubled', async () => {
  const room = `rotate-${process.pid}`;
  // Rotate 1.2–1.6 s after each switch: well before the gateway's 3 s cut, with time to re-join and replay.
  const rotation = { rotateAfterMs: [1_200, 1_600] as const, overlapMs: 300 };
  const reader = gatewayClient(gw, 'rotating-reader', { room, ...rotation });
  const writer = gatewayClient(gw, 'rotating-writer', { room, ...rotation });
  await Promise.all([opened(reader), opened(writer)]);
  await reader.client.join(room);

  const sent = await sendFor(writer, room, 7_000, 'r');
  await until(() => reader.messages.length >= sent.length, 'the reader to catch up');
  await sleep(300);

  expect(reader.messages.map((m) => m.message)).toEqual(sent);
  expect(reader.messages.map((m) => m.seq)).toEqual(range(sent.length));
  // Switches are invisible: no reconnecting state, no error, every send answered.
  expect(reader.states).toEqual(['open']);
  expect(writer.states).toEqual(['open']);
  expect(reader.errors).toEqual([]);
  expect(writer.errors).toEqual([]);
  // Each client went through several connections, and closed each old one itself (1000) before the gateway's
  // cut (1001) came.
  for (const user of ['rotating-reader', 'rotating-writer']) {
    const ids = connectionsOf.get(user)!;
    expect(ids.length).toBeGreaterThanOrEqual(4);
    const closed = ids.filter((id) => closes.has(id)).map((id) => closes.get(id));
    expect(closed.length).toBeGreaterThanOrEqual(3);
    expect(closed.every((code) => code === 1000)).toBe(true);
  }
  // During a switch both connections hear the room, and the new one replays from history what it may have missed:
  // the client got more copies than messages, and dropped the extra ones.
  const live = reader.received.filter((f) => f.action === 'message').length;
  const replayed = reader.received.filter((f) => f.action === 'history').flatMap((f) => f.messages as unknown[]).length;
  expect(live + replayed).toBeGreaterThan(sent.length);
});

test('the gateway closes first: reconnect and replay; events and messages each once, in seq order', async () => {
  const room = `cut-${process.pid}`;
  // The reader never rotates in time: the gateway ends each of its connections after 3 s.
  const reader = gatewayClient(gw, 'cut-reader', { room, rotateAfterMs: [60_000, 60_000], backoffBaseMs: 200, backoffMaxMs: 200 });
  // The writer rotates in time, so its sends are never cut off.
  const writer = gatewayClient(gw, 'cut-writer', { room, rotateAfterMs: [1_200, 1_600], overlapMs: 300 });
  await Promise.all([opened(reader), opened(writer)]);
  await reader.client.join(room);

  const [messages, events] = await Promise.all([sendFor(writer, room, 7_000, 'c'), publishFor(room, 7_000)]);
  const total = messages.length + events;
  await until(() => reader.messages.length + reader.events.length >= total, 'the reader to catch up', 15_000);
  await sleep(300);

  expect(reader.messages.map((m) => m.message)).toEqual(messages);
  expect(reader.events.map((e) => (e.data as { n: number }).n)).toEqual(range(events));
  // Messages and room events share the room's sequence: together, every seq once and in order.
  expect(reader.delivered.map((f) => f.seq)).toEqual(range(total));
  // The cuts were real losses: the gateway closed (1001) and the client came back each time.
  const ids = connectionsOf.get('cut-reader')!;
  expect(ids.length).toBeGreaterThanOrEqual(3);
  expect(ids.filter((id) => closes.get(id) === 1001).length).toBeGreaterThanOrEqual(2);
  expect(reader.states.filter((s) => s === 'reconnecting').length).toBeGreaterThanOrEqual(2);
  expect(reader.states[reader.states.length - 1]).toBe('open');
  expect(reader.errors).toEqual([]);
  expect(writer.errors).toEqual([]);
});

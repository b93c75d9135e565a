import type { AsyncInvocationResult } from '../../src/local/invoke-api';
import { ENV } from '../../src/shared/contract';
import { REAL_HANDLERS, startTestGateway, type TestGateway } from '../support/local-gateway';
import { assertRealBundles } from '../support/real-handlers';
import { connectUrl, TestClient } from '../support/ws-client';

/**
 * A large room through the local gateway: with a low threshold, `sendMessage` hands the room's upper shards to
 * fan-out workers, which the gateway runs through its Lambda Invoke API (`InvocationType: Event`), each in its own
 * execution environment — the shipped worker bundle, as Lambda would run it. Every socket gets the message once.
 */

assertRealBundles();

const SOCKETS = 120;
let gw: TestGateway;
let clients: TestClient[] = [];

beforeAll(async () => {
  gw = await startTestGateway({
    handlersDir: REAL_HANDLERS,
    handlerEnv: { [ENV.shardThreshold]: '20', [ENV.maxFanoutWorkers]: '4', [ENV.presenceEventsMaxConnections]: '0' },
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await gw?.close();
});

test(`${SOCKETS} sockets, a threshold of 20: the broadcast and its workers reach each socket exactly once`, async () => {
  for (let i = 0; i < SOCKETS; i += 40) {
    const wave = Array.from({ length: Math.min(40, SOCKETS - i) }, (_, j) => TestClient.connect(connectUrl(gw.url, { room_id: 'big', token: gw.devToken(`u${i + j}`) })));
    clients.push(...(await Promise.all(wave)));
  }
  const workers: AsyncInvocationResult[] = [];
  gw.events.on('asyncInvocation', (result) => workers.push(result));
  clients[0].send({ action: 'sendMessage', message: 'to everyone', request_id: 'r1' });
  await Promise.all(clients.map((c) => c.waitFor((f) => f.action === 'message', 1, 30_000)));
  await gw.settled();
  for (const client of clients) expect(client.matching((f) => f.action === 'message')).toHaveLength(1);
  expect(clients[0].frames[0]).toMatchObject({ message: 'to everyone', request_id: 'r1', seq: 1 });
  expect(clients.slice(1).every((c) => c.frames[0].request_id === undefined)).toBe(true);
  // The upper shards went to workers, started through the Invoke API, each of which succeeded.
  expect(workers.length).toBeGreaterThanOrEqual(2);
  expect(workers.length).toBeLessThanOrEqual(4);
  expect(workers.every((w) => w.functionName === 'fanoutWorker' && w.ok && w.attempts === 1)).toBe(true);
});

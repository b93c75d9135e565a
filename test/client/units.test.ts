import { ChatClient } from '../../packages/client/src';
import { resolveOptions } from '../../packages/client/src/defaults';
import { backoffDelay, between } from '../../packages/client/src/jitter';
import { RecentIds } from '../../packages/client/src/recent-ids';
import { utf8Length } from '../../packages/client/src/utf8';

/** The small pure helpers and the option defaults. */

test('backoff doubles from the base, is capped, and jitters between half and all of it', () => {
  expect([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, 1_000, 30_000, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000]);
  expect(backoffDelay(0, 1_000, 30_000, () => 0)).toBe(500);
  expect(backoffDelay(10, 1_000, 30_000, () => 1)).toBe(30_000);
  expect(backoffDelay(1_000, 1_000, 30_000, () => 0)).toBe(15_000);
});

test('between picks uniformly within the range', () => {
  expect(between([6_000_000, 6_900_000], () => 0)).toBe(6_000_000);
  expect(between([6_000_000, 6_900_000], () => 0.5)).toBe(6_450_000);
});

test('RecentIds forgets the oldest id past its capacity', () => {
  const ids = new RecentIds(2);
  expect([ids.add('a'), ids.add('a'), ids.add('b'), ids.add('c'), ids.add('a'), ids.add('c')]).toEqual([true, false, true, true, true, false]);
});

test('utf8Length counts UTF-8 bytes', () => {
  expect(['a', 'é', '€', '😀', '\ud800'].map(utf8Length)).toEqual([1, 2, 3, 4, 3]);
});

test('the defaults: 10 s requests, 5 min pings, rotation between 100 and 115 min, 10 s gaps, 3 refusals', () => {
  const options = resolveOptions({ url: 'wss://x/prod', token: 't', WebSocket: class {} as never });
  expect(options).toMatchObject({
    requestTimeoutMs: 10_000,
    pingAfterMs: 300_000,
    rotateAfterMs: [6_000_000, 6_900_000],
    gapTimeoutMs: 10_000,
    maxRefusals: 3,
    backoffBaseMs: 1_000,
    backoffMaxMs: 30_000,
  });
  expect(options.pingAfterMs).toBeLessThan(600_000); // under API Gateway's idle timeout
  expect(options.rotateAfterMs[1]).toBeLessThan(7_200_000); // before its 2-hour limit
});

test('a client needs a token source and a WebSocket', () => {
  expect(() => new ChatClient({ url: 'wss://x/prod', WebSocket: class {} as never })).toThrow(/token/);
  const host = globalThis as { WebSocket?: unknown };
  const global = host.WebSocket; // none on Node 20, the tests' runtime
  delete host.WebSocket;
  try {
    expect(() => new ChatClient({ url: 'wss://x/prod', token: 't' })).toThrow(/WebSocket/);
  } finally {
    if (global) host.WebSocket = global;
  }
});

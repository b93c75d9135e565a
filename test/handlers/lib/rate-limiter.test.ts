import { RateLimiter } from '../../../src/handlers/lib/rate-limiter';

/** A virtual clock: `sleep` advances it, nothing really waits. */
function virtualTime(start = 1_000_000) {
  const clock = { ms: start, sleeps: [] as number[] };
  return {
    clock,
    now: () => clock.ms,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.ms += ms;
    },
  };
}

/** Takes `count` tokens one after the other; returns the virtual time each one was granted, from the start. */
async function takeTimes(limiter: RateLimiter, time: ReturnType<typeof virtualTime>, count: number): Promise<number[]> {
  const start = time.clock.ms;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    await limiter.take();
    times.push(time.clock.ms - start);
  }
  return times;
}

test('a burst of a tenth of a second\'s worth, then paced to the rate', async () => {
  const time = virtualTime();
  const limiter = new RateLimiter(100, time.now, time.sleep);
  const times = await takeTimes(limiter, time, 1010);
  // The first 10 (100/s ÷ 10) at once.
  expect(times.slice(0, 10)).toEqual(Array(10).fill(0));
  expect(times[10]).toBeGreaterThan(0);
  // Then 1,000 more at 100/s: ten seconds.
  expect(times[1009]).toBeGreaterThanOrEqual(9990);
  expect(times[1009]).toBeLessThanOrEqual(10_010);
  // Evenly: no second grants more than the rate (plus the burst in the first).
  for (let s = 1; s < 10; s++) {
    const inSecond = times.filter((t) => t > s * 1000 && t <= (s + 1) * 1000).length;
    expect(inSecond).toBeGreaterThanOrEqual(99);
    expect(inSecond).toBeLessThanOrEqual(101);
  }
});

test('a slow rate: one token at a time', async () => {
  const time = virtualTime();
  const limiter = new RateLimiter(2, time.now, time.sleep);
  const times = await takeTimes(limiter, time, 5);
  expect(times[0]).toBe(0);
  // 2/s: a token every 500 ms.
  expect(times.slice(1).map((t, i) => t - times[i])).toEqual([500, 500, 500, 500]);
});

test('time that passes without takes refills only up to the burst', async () => {
  const time = virtualTime();
  const limiter = new RateLimiter(100, time.now, time.sleep);
  await takeTimes(limiter, time, 10);
  time.clock.ms += 60_000;
  const times = await takeTimes(limiter, time, 30);
  expect(times.filter((t) => t === 0)).toHaveLength(10);
  expect(times[29]).toBeGreaterThanOrEqual(190);
});

test('concurrent takers are served in order', async () => {
  const time = virtualTime();
  const limiter = new RateLimiter(50, time.now, time.sleep);
  const order: number[] = [];
  await Promise.all(Array.from({ length: 40 }, (_, i) => limiter.take().then(() => order.push(i))));
  expect(order).toEqual(Array.from({ length: 40 }, (_, i) => i));
  // 40 tokens at 50/s, 5 of them banked: 0.7 s.
  expect(time.clock.ms - 1_000_000).toBeGreaterThanOrEqual(690);
  expect(time.clock.ms - 1_000_000).toBeLessThanOrEqual(720);
});

describe('throttle (a 429)', () => {
  test('halves the rate and takes the banked tokens away', async () => {
    const time = virtualTime();
    const limiter = new RateLimiter(100, time.now, time.sleep);
    limiter.throttle();
    expect(limiter.currentRate).toBe(50);
    expect(limiter.throttled).toBe(1);
    const times = await takeTimes(limiter, time, 1);
    expect(times[0]).toBeGreaterThan(0);
  });

  test('fewer posts in the next second, then back to the full rate (additive recovery: a tenth of the rate a second)', async () => {
    const time = virtualTime();
    const limiter = new RateLimiter(100, time.now, time.sleep);
    await takeTimes(limiter, time, 10);
    limiter.throttle();
    const start = time.clock.ms;
    const times = await takeTimes(limiter, time, 700);
    const perSecond = (s: number) => times.filter((t) => t > s * 1000 && t <= (s + 1) * 1000).length;
    // ~50/s recovering by 10/s each second: about 55 in the first second, never more than 60.
    expect(perSecond(0)).toBeGreaterThanOrEqual(50);
    expect(perSecond(0)).toBeLessThanOrEqual(60);
    expect(perSecond(2)).toBeGreaterThan(perSecond(0));
    // Five seconds on, the rate has recovered.
    expect(limiter.currentRate).toBe(100);
    expect(perSecond(6)).toBeGreaterThanOrEqual(99);
    expect(time.clock.ms - start).toBeGreaterThan(7000);
  });

  test('never below 5 % of the configured rate', () => {
    const time = virtualTime();
    const limiter = new RateLimiter(1000, time.now, time.sleep);
    for (let i = 0; i < 20; i++) limiter.throttle();
    expect(limiter.currentRate).toBe(50);
    expect(limiter.throttled).toBe(20);
  });

  test('recovery never passes the configured rate', () => {
    const time = virtualTime();
    const limiter = new RateLimiter(100, time.now, time.sleep);
    limiter.throttle();
    time.clock.ms += 3_600_000;
    limiter.throttle();
    // Fully recovered (100) before this 429 halved it again.
    expect(limiter.currentRate).toBe(50);
  });
});

describe('setRate', () => {
  test('lowering the rate takes effect at once, with a smaller burst', async () => {
    const time = virtualTime();
    const limiter = new RateLimiter(1000, time.now, time.sleep);
    limiter.setRate(20);
    expect(limiter.currentRate).toBe(20);
    const times = await takeTimes(limiter, time, 22);
    // A burst of 2 (20/s ÷ 10), then 20 more at 20/s: one second.
    expect(times.filter((t) => t === 0)).toHaveLength(2);
    expect(times[21]).toBeGreaterThanOrEqual(990);
    expect(times[21]).toBeLessThanOrEqual(1010);
  });

  test('raising it recovers towards the new rate additively', async () => {
    const time = virtualTime();
    const limiter = new RateLimiter(20, time.now, time.sleep);
    limiter.setRate(200);
    expect(limiter.currentRate).toBe(20);
    time.clock.ms += 4_000;
    await limiter.take();
    // 20 + 4 s × 20/s.
    expect(limiter.currentRate).toBe(100);
    time.clock.ms += 10_000;
    await limiter.take();
    expect(limiter.currentRate).toBe(200);
  });

  test('a throttled rate stays throttled when the configured rate is lowered above it', () => {
    const time = virtualTime();
    const limiter = new RateLimiter(100, time.now, time.sleep);
    limiter.throttle();
    limiter.setRate(80);
    expect(limiter.currentRate).toBe(50);
  });

  test.each([0, -1, Number.NaN])('a rate of %s is refused', (rate) => {
    expect(() => new RateLimiter(rate)).toThrow(/positive/);
    expect(() => new RateLimiter(10).setRate(rate)).toThrow(/positive/);
  });
});

test('a failed wait rejects that take only; the next takers still get tokens', async () => {
  const time = virtualTime();
  let fail = true;
  const limiter = new RateLimiter(10, time.now, async (ms) => {
    if (fail) {
      fail = false;
      throw new Error('timer broke');
    }
    await time.sleep(ms);
  });
  await limiter.take();
  await expect(limiter.take()).rejects.toThrow('timer broke');
  await expect(limiter.take()).resolves.toBeUndefined();
});

test('with the real clock it waits for real (a short check)', async () => {
  const limiter = new RateLimiter(100);
  const started = Date.now();
  for (let i = 0; i < 15; i++) await limiter.take();
  // 10 banked, 5 more at 100/s.
  expect(Date.now() - started).toBeGreaterThanOrEqual(40);
});

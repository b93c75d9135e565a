import { FakeClock } from './support/fake-clock';
import { RoomSequencer } from '../../packages/client/src/sequencer';
import { TimerSet } from '../../packages/client/src/timers';

/** The per-room ordering on its own: frames in any order and any number of times, out once each in seq order. */

interface F {
  readonly seq: number;
}

function setUp(gapMs = 1_000) {
  const clock = new FakeClock();
  const delivered: number[] = [];
  const onGap = jest.fn();
  const order = new RoomSequencer<F>(new TimerSet(clock), gapMs, (frame) => delivered.push(frame.seq), onGap);
  return { clock, delivered, onGap, order };
}

test('frames in order pass straight through; duplicates and older frames are dropped', () => {
  const { delivered, order, onGap } = setUp();
  order.sync(10);
  for (const seq of [11, 12, 12, 11, 9, 13]) order.push({ seq });
  expect(delivered).toEqual([11, 12, 13]);
  expect(onGap).not.toHaveBeenCalled();
  expect(order.missingAfter).toBeUndefined();
});

test('a gap holds later frames, asks for them once, and releases them in order when it is filled', () => {
  const { delivered, order, onGap } = setUp();
  order.sync(0);
  order.push({ seq: 1 });
  order.push({ seq: 4 });
  order.push({ seq: 3 });
  expect(delivered).toEqual([1]);
  expect(onGap).toHaveBeenCalledTimes(1);
  expect(order.missingAfter).toBe(1);
  order.push({ seq: 2 });
  expect(delivered).toEqual([1, 2, 3, 4]);
  expect(order.missingAfter).toBeUndefined();
});

test('a seq missing for gapMs is skipped, one hole at a time', async () => {
  const { clock, delivered, order, onGap } = setUp(1_000);
  order.sync(0);
  order.push({ seq: 2 });
  order.push({ seq: 4 });
  await clock.advance(999);
  expect(delivered).toEqual([]);
  await clock.advance(1);
  expect(delivered).toEqual([2]); // seq 1 skipped
  expect(onGap).toHaveBeenCalledTimes(2); // the second hole (3) is a new gap
  await clock.advance(1_000);
  expect(delivered).toEqual([2, 4]);
  expect(clock.pending).toBe(0);
});

test('a latest seq from the server with nothing held opens a gap up to it, skipped after gapMs', async () => {
  const { clock, delivered, order } = setUp(1_000);
  order.sync(5);
  order.sync(8); // e.g. `joined` after a reconnect
  expect(order.missingAfter).toBe(5);
  expect(order.latest).toBe(8);
  await clock.advance(1_000);
  order.push({ seq: 8 });
  order.push({ seq: 9 });
  expect(delivered).toEqual([9]);
});

test('frames that arrive before the room position is known are kept and delivered from the lowest', () => {
  const { delivered, order } = setUp();
  order.push({ seq: 6 });
  order.push({ seq: 7 });
  expect(delivered).toEqual([]);
  order.sync(6); // the join answer counted a message the client already holds
  expect(delivered).toEqual([6, 7]);
});

test('frames held without a known position are released after gapMs', async () => {
  const { clock, delivered, order } = setUp(1_000);
  order.push({ seq: 6 });
  order.push({ seq: 8 });
  await clock.advance(1_000);
  expect(delivered).toEqual([6]);
  await clock.advance(1_000);
  expect(delivered).toEqual([6, 8]);
});

test('close() cancels the gap timer', () => {
  const { clock, order } = setUp();
  order.sync(0);
  order.push({ seq: 2 });
  expect(clock.pending).toBe(1);
  order.close();
  expect(clock.pending).toBe(0);
});

import type { Timers } from './options';

const host = globalThis as unknown as Timers;

/** The global timers. */
export const globalTimers: Timers = {
  setTimeout: (callback, ms) => host.setTimeout(callback, ms),
  clearTimeout: (handle) => host.clearTimeout(handle),
};

/** A timer started through a {@link TimerSet}. */
export interface Timer {
  /** The handle `Timers.setTimeout` returned. */
  handle?: unknown;
}

/** Starts timers and remembers the live ones, so one call clears them all. */
export class TimerSet {
  private readonly live = new Set<Timer>();

  constructor(private readonly timers: Timers) {}

  /** The number of timers started and neither fired nor cleared. */
  get size(): number {
    return this.live.size;
  }

  /** Calls `callback` once after `ms` milliseconds. */
  start(callback: () => void, ms: number): Timer {
    const timer: Timer = {};
    timer.handle = this.timers.setTimeout(() => {
      this.live.delete(timer);
      callback();
    }, ms);
    this.live.add(timer);
    return timer;
  }

  /** Cancels `timer` (nothing for `undefined` or a timer that already fired). */
  clear(timer: Timer | undefined): void {
    if (timer && this.live.delete(timer)) this.timers.clearTimeout(timer.handle);
  }

  /** Cancels every live timer. */
  clearAll(): void {
    for (const timer of this.live) this.timers.clearTimeout(timer.handle);
    this.live.clear();
  }
}

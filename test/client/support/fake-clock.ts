import type { Timers } from '../../../packages/client/src';

/** A timer of the clock. */
export interface Scheduled {
  readonly at: number;
  readonly id: number;
  /** The delay it was started with. */
  readonly ms: number;
  readonly callback: () => void;
}

/** A manual clock to inject as the client's `timers`: hours pass in milliseconds. */
export class FakeClock implements Timers {
  /** Milliseconds since the clock started. */
  now = 0;
  private counter = 0;
  private readonly scheduled = new Map<number, Scheduled>();

  /** Timers started and neither fired nor cleared. */
  get pending(): number {
    return this.scheduled.size;
  }

  setTimeout = (callback: () => void, ms: number): unknown => {
    const id = ++this.counter;
    this.scheduled.set(id, { at: this.now + Math.max(0, ms), id, ms, callback });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.scheduled.delete(handle as number);
  };

  /** The delays the pending timers were started with. */
  pendingDelays(): number[] {
    return [...this.scheduled.values()].map((timer) => timer.ms);
  }

  /** Whether the timer with this handle is still pending. */
  isPending(handle: unknown): boolean {
    return this.scheduled.has(handle as number);
  }

  /**
   * Moves the clock `ms` forward, firing due timers in order. Before each one it awaits `settle(timer)`: real
   * time for the sockets to deliver what earlier timers caused (a pong that clears a ping's deadline, say).
   */
  async advance(ms: number, settle: (next: Scheduled) => Promise<void> = async () => undefined): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      let next: Scheduled | undefined;
      for (const timer of this.scheduled.values()) {
        if (timer.at <= target && (!next || timer.at < next.at || (timer.at === next.at && timer.id < next.id))) next = timer;
      }
      if (!next) break;
      await settle(next);
      if (!this.scheduled.delete(next.id)) continue; // cleared while settling
      this.now = next.at;
      next.callback();
    }
    this.now = target;
  }
}

import type { Timer, TimerSet } from './timers';

/** A frame that carries a room's sequence number. */
export interface Sequenced {
  readonly seq?: number;
}

/**
 * One room's delivery order. Frames go in as they arrive (live, from history, twice, out of order); they come
 * out through `deliver` once each, in `seq` order. A missing `seq` holds later frames until it arrives, or until
 * `gapMs` passed, then it is skipped (a store that failed is never delivered). `onGap` asks for the missing
 * frames (from `history`) whenever a new gap appears.
 */
export class RoomSequencer<F extends Sequenced> {
  /** The highest `seq` delivered or skipped; undefined until the room's position is known. */
  private last?: number;
  /** The highest `seq` known to exist. */
  private top = 0;
  private readonly held = new Map<number, F>();
  private timer?: Timer;

  constructor(
    private readonly timers: TimerSet,
    private readonly gapMs: number,
    private readonly deliver: (frame: F) => void,
    private readonly onGap: () => void,
  ) {}

  /** The `after_seq` from which to read `history` while frames are missing; undefined when nothing is. */
  get missingAfter(): number | undefined {
    return this.last !== undefined && this.top > this.last ? this.last : undefined;
  }

  /** The highest `seq` known to exist. */
  get latest(): number {
    return this.top;
  }

  /** Takes a frame with a `seq`; duplicates and frames at or below the delivered position are dropped. */
  push(frame: F): void {
    const seq = frame.seq as number;
    if ((this.last !== undefined && seq <= this.last) || this.held.has(seq)) return;
    this.held.set(seq, frame);
    this.top = Math.max(this.top, seq);
    this.drain();
  }

  /**
   * Learns the room's latest `seq` (from `joined` or `history`). The first one fixes the position: frames held
   * from before it are still delivered.
   */
  sync(latest: number | undefined): void {
    if (latest === undefined) return;
    if (this.last === undefined) this.last = Math.min(latest, this.lowestHeld() - 1);
    this.top = Math.max(this.top, latest);
    this.drain();
  }

  /** Cancels the gap timer. */
  close(): void {
    this.timers.clear(this.timer);
    this.held.clear();
  }

  private lowestHeld(): number {
    return this.held.size > 0 ? Math.min(...this.held.keys()) : Infinity;
  }

  private drain(): void {
    for (let next; this.last !== undefined && (next = this.held.get(this.last + 1)); ) {
      this.held.delete(++this.last);
      this.deliver(next);
    }
    const waiting = this.last === undefined ? this.held.size > 0 : this.top > this.last;
    if (!waiting) {
      this.timers.clear(this.timer);
      this.timer = undefined;
    } else if (!this.timer) {
      this.timer = this.timers.start(() => this.skip(), this.gapMs);
      this.onGap();
    }
  }

  /** The gap outlived `gapMs`: give up on the missing frames below the lowest held one (or all known ones). */
  private skip(): void {
    this.timer = undefined;
    const lowest = this.lowestHeld();
    this.last = (lowest === Infinity ? this.top + 1 : lowest) - 1;
    this.drain();
  }
}

import { sleep as timerSleep } from './retry';

/**
 * A token bucket pacing posts to a share of the account's `@connections` rate: `ratePerSecond` tokens a second,
 * at most a tenth of a second's worth banked (so a worker cannot burst far past its share). A 429 halves the rate
 * for a while (multiplicative decrease); it then recovers by a tenth of the configured rate a second (additive
 * increase), so workers that together overshoot the account limit back off without a 429 storm.
 */
export class RateLimiter {
  private tokens: number;
  private rate: number;
  private lastRefillMs: number;
  private burst: number;
  /** Takers wait in line, so the order of posts is kept and none starves. */
  private queue: Promise<void> = Promise.resolve();
  /** 429s seen. */
  public throttled = 0;

  constructor(
    private ratePerSecond: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = timerSleep,
  ) {
    if (!(ratePerSecond > 0)) throw new Error(`rate must be positive, got ${ratePerSecond}`);
    this.rate = ratePerSecond;
    this.burst = Math.max(1, ratePerSecond / 10);
    this.tokens = this.burst;
    this.lastRefillMs = now();
  }

  /** The current rate (tokens per second). */
  get currentRate(): number {
    return this.rate;
  }

  /** Resolves when a post may start. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.takeNow());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Changes the configured rate (e.g. once a broadcast shares its budget with workers). */
  setRate(ratePerSecond: number): void {
    if (!(ratePerSecond > 0)) throw new Error(`rate must be positive, got ${ratePerSecond}`);
    this.refill();
    this.ratePerSecond = ratePerSecond;
    this.rate = Math.min(this.rate, ratePerSecond);
    this.burst = Math.max(1, ratePerSecond / 10);
    this.tokens = Math.min(this.tokens, this.burst);
  }

  /** A 429: halve the rate (at least 5 % of the configured one). */
  throttle(): void {
    this.throttled++;
    this.refill();
    this.rate = Math.max(this.ratePerSecond * 0.05, this.rate / 2);
    this.tokens = Math.min(this.tokens, 0);
  }

  private async takeNow(): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(Math.max(1, Math.ceil(((1 - this.tokens) / this.rate) * 1000)));
    }
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.lastRefillMs) / 1000;
    this.lastRefillMs = now;
    // Additive recovery towards the configured rate.
    this.rate = Math.min(this.ratePerSecond, this.rate + elapsed * this.ratePerSecond * 0.1);
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.rate);
  }
}

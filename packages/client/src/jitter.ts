/**
 * The delay before reconnect attempt `attempt` (0-based): exponential from `baseMs`, capped at `maxMs`, with
 * "equal jitter" (between half and all of it), so clients that lost the same server do not come back at once.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** A uniformly random value in `[min, max]`. */
export function between(range: readonly [number, number], random: () => number): number {
  return range[0] + random() * (range[1] - range[0]);
}

/** What to do after a failed post to a connection (ARCHITECTURE.md, "Fan-out rules"). */
export type PostFailureKind =
  /** 410: the connection is gone; delete its row, do not retry. */
  | 'gone'
  /** 429, 5xx, timeout, network error: retry with backoff; the row stays. */
  | 'retryable'
  /** 403, 413, any other 4xx: do not retry; the row stays. */
  | 'fatal';

/** The HTTP status of an SDK error, when the server answered at all. */
export function httpStatusOf(err: unknown): number | undefined {
  const e = err as { $metadata?: { httpStatusCode?: unknown }; $response?: { statusCode?: unknown } } | null;
  const status = e?.$metadata?.httpStatusCode ?? e?.$response?.statusCode;
  return typeof status === 'number' && status > 0 ? status : undefined;
}

/** Classifies a failed `PostToConnection`. Only a 410 / `GoneException` is `gone`. */
export function classifyPostError(err: unknown): PostFailureKind {
  const status = httpStatusOf(err);
  if (status === 410) return 'gone';
  if (status === undefined) {
    // Explicit name without a status (e.g. a test double): trust the name; anything else is a
    // timeout / abort / connection error, which is worth another attempt.
    return (err as { name?: unknown } | null)?.name === 'GoneException' ? 'gone' : 'retryable';
  }
  if (status === 429 || status >= 500) return 'retryable';
  if (status >= 300) return 'fatal'; // 4xx, and redirects: @connections never redirects, a retry would not help
  // A 1xx/2xx that still failed (e.g. an unreadable answer): treat like a transient fault.
  return 'retryable';
}

/**
 * Exponential backoff with full jitter: a uniform delay in `[0, min(capMs, baseMs · 2^(attempt-1)))` before
 * attempt `attempt + 1`.
 * @param attempt the attempt that just failed, from 1
 * @param random a uniform random number in [0, 1)
 */
export function backoffDelayMs(attempt: number, baseMs: number, random: () => number = Math.random, capMs = 2000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** A timer-based sleep; a zero delay still yields to the event loop. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

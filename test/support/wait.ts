import type { EventEmitter } from 'node:events';

/** Resolves with the first `name` event whose payload matches `predicate`; rejects after `timeoutMs`. */
export function waitForEvent<T>(
  emitter: EventEmitter,
  name: string,
  predicate: (payload: T) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${name}"`));
    }, timeoutMs);
    const listener = (payload: T) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(payload);
    };
    emitter.on(name, listener);
  });
}

/**
 * Polls `check` until it returns a value other than `undefined` (or `false`); rejects with the last
 * description after `timeoutMs`. For state that has no event (e.g. a DynamoDB row).
 */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { deleteGoneConnection } from './connections-store';
import { backoffDelayMs, classifyPostError, httpStatusOf, sleep as timerSleep, type PostFailureKind } from './retry';

/** What `@connections` answered to one post. */
export interface PostResponse {
  /** HTTP status: 200 delivered, 410 gone, 429 throttled, … */
  readonly status: number;
  /** `x-amzn-ErrorType` of an error answer, e.g. `GoneException`. */
  readonly errorType?: string;
}

/**
 * Posts one frame to one connection and answers with the HTTP status rather than throwing (the handlers use
 * `SignedConnectionsApi`); it rejects only when no answer came (network error, time-out, abort).
 */
export interface StatusPoster {
  post(connectionId: string, data: Uint8Array | string, signal?: AbortSignal): Promise<PostResponse>;
}

/** Where posts go, and the table whose rows a 410 removes. */
export interface PostTarget {
  readonly management: StatusPoster;
  readonly dynamo: DynamoDBClient;
  readonly tableName: string;
}

/** How a post is attempted (DESIGN §4). */
export interface PostPolicy {
  /** Attempts per post, the first included (429 / 5xx / timeout / network errors only). */
  readonly maxAttempts: number;
  /** Deadline of one attempt, in milliseconds. */
  readonly timeoutMs: number;
  /** Base of the exponential backoff (full jitter), in milliseconds. */
  readonly backoffBaseMs: number;
  /** Epoch ms by which a retry must be able to finish, or it is not started (e.g. the Lambda's own deadline). */
  readonly deadlineMs?: number;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
}

export type PostOutcome = 'delivered' | 'gone' | 'failed';

export interface PostResult {
  readonly outcome: PostOutcome;
  readonly attempts: number;
  /** HTTP status of the last failed attempt, if the server answered. */
  readonly status?: number;
  /** Name of the last error, if any. */
  readonly errorName?: string;
  /** For `gone`: whether this call deleted the row (false: already deleted, or the delete failed). */
  readonly rowDeleted?: boolean;
}

/**
 * Posts `data` to one connection. 410 Gone deletes the connection's row (conditionally) and is not retried;
 * 429 / 5xx / timeouts / network errors are retried with exponential backoff and full jitter, up to
 * `maxAttempts`; 403 / 413 / other 4xx fail at once. Never throws: the outcome is in the result.
 */
export async function postToConnection(
  target: PostTarget,
  policy: PostPolicy,
  connectionId: string,
  data: Uint8Array | string,
): Promise<PostResult> {
  const sleep = policy.sleep ?? timerSleep;
  const now = policy.now ?? Date.now;
  const maxAttempts = Math.max(1, policy.maxAttempts);
  for (let attempt = 1; ; attempt++) {
    const failure = await attemptPost(target.management, connectionId, data, policy.timeoutMs);
    if (failure === undefined) return { outcome: 'delivered', attempts: attempt };
    const { kind, status, errorName } = failure;
    if (kind === 'gone') {
      let rowDeleted = false;
      try {
        rowDeleted = await deleteGoneConnection(target.dynamo, target.tableName, connectionId);
      } catch {
        // The row will go with its TTL, or on the next 410.
      }
      return { outcome: 'gone', attempts: attempt, status, errorName, rowDeleted };
    }
    if (kind === 'fatal' || attempt >= maxAttempts) {
      return { outcome: 'failed', attempts: attempt, status, errorName };
    }
    const delay = backoffDelayMs(attempt, policy.backoffBaseMs, policy.random);
    if (policy.deadlineMs !== undefined && now() + delay + policy.timeoutMs > policy.deadlineMs) {
      return { outcome: 'failed', attempts: attempt, status, errorName };
    }
    await sleep(delay);
  }
}

/** One attempt with its own deadline: undefined when delivered, else how it failed. */
async function attemptPost(
  client: StatusPoster,
  connectionId: string,
  data: Uint8Array | string,
  timeoutMs: number,
): Promise<{ kind: PostFailureKind; status?: number; errorName?: string } | undefined> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const { status, errorType } = await client.post(connectionId, data, signal);
    if (status >= 200 && status < 300) return undefined;
    const answered = { name: errorType ?? `HTTP${status}`, $metadata: { httpStatusCode: status } };
    return { kind: classifyPostError(answered), status, errorName: answered.name };
  } catch (err) {
    // The code (ECONNRESET, ETIMEDOUT…) says more than the name (`Error`) of a network failure.
    const { name, code } = (err ?? {}) as { name?: string; code?: unknown };
    return { kind: classifyPostError(err), status: httpStatusOf(err), errorName: typeof code === 'string' ? code : name };
  }
}

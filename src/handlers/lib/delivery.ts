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
 * `SignedConnectionsApi`); it rejects only when no answer came (network error, time-out).
 */
export interface StatusPoster {
  /** @param timeoutMs the attempt's own deadline: no answer within it rejects */
  post(connectionId: string, data: Uint8Array | string, timeoutMs?: number): Promise<PostResponse>;
}

/** Where posts go, and the table whose items a 410 removes. */
export interface PostTarget {
  readonly management: StatusPoster;
  readonly dynamo: DynamoDBClient;
  readonly tableName: string;
}

/** How a post is attempted. */
export interface PostPolicy {
  /** Attempts per post, the first included (429 / 5xx / timeout / network errors only). */
  readonly maxAttempts: number;
  /** Deadline of one attempt, in milliseconds. */
  readonly timeoutMs: number;
  /** Base of the exponential backoff (full jitter), in milliseconds. */
  readonly backoffBaseMs: number;
  /**
   * Epoch ms by which an attempt must be able to finish, or it is not started (the Lambda's own deadline, less a
   * reserve): the invocation then ends with its log line and metrics instead of being killed.
   */
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
  /** For `gone`: whether this call deleted the connection's items (false: already gone, or the delete failed). */
  readonly rowDeleted?: boolean;
  /** For `failed`: no attempt (or no further attempt) could finish before the deadline. */
  readonly deadline?: boolean;
}

/** How one attempt failed: undefined when it delivered. */
export interface AttemptFailure {
  readonly kind: PostFailureKind;
  readonly status?: number;
  readonly errorName?: string;
}

/** Whether an attempt started now could finish before the deadline. */
export function fitsDeadline(policy: PostPolicy, delayMs = 0): boolean {
  const now = policy.now ?? Date.now;
  return policy.deadlineMs === undefined || now() + delayMs + policy.timeoutMs <= policy.deadlineMs;
}

/**
 * Posts `data` to one connection (a reply to a sender, a push to one connection). 410 Gone deletes the
 * connection's items and is not retried; 429 / 5xx / timeouts / network errors are retried with exponential backoff
 * and full jitter, up to `maxAttempts`, while an attempt still fits before the deadline; 403 / 413 / other 4xx fail
 * at once. Nothing starts past the deadline. Never throws: the outcome is in the result.
 */
export async function postToConnection(target: PostTarget, policy: PostPolicy, connectionId: string, data: Uint8Array | string): Promise<PostResult> {
  const sleep = policy.sleep ?? timerSleep;
  const maxAttempts = Math.max(1, policy.maxAttempts);
  if (!fitsDeadline(policy)) return { outcome: 'failed', attempts: 0, deadline: true };
  for (let attempt = 1; ; attempt++) {
    const failure = await attemptPost(target.management, connectionId, data, policy.timeoutMs);
    if (failure === undefined) return { outcome: 'delivered', attempts: attempt };
    if (failure.kind === 'gone') return goneResult(target, connectionId, attempt, failure);
    const { status, errorName } = failure;
    if (failure.kind === 'fatal' || attempt >= maxAttempts) return { outcome: 'failed', attempts: attempt, status, errorName };
    const delay = backoffDelayMs(attempt, policy.backoffBaseMs, policy.random);
    if (!fitsDeadline(policy, delay)) return { outcome: 'failed', attempts: attempt, status, errorName, deadline: true };
    await sleep(delay);
  }
}

/** A 410: the connection's items are deleted (a failed delete is left to the TTL or the next 410). */
export async function goneResult(target: PostTarget, connectionId: string, attempts: number, failure: AttemptFailure): Promise<PostResult> {
  let rowDeleted = false;
  try {
    rowDeleted = await deleteGoneConnection(target.dynamo, target.tableName, connectionId);
  } catch {
    // The items go with their TTL, or on the next 410.
  }
  return { outcome: 'gone', attempts, status: failure.status, errorName: failure.errorName, rowDeleted };
}

/** One attempt with its own deadline: undefined when delivered, else how it failed. */
export async function attemptPost(
  client: StatusPoster,
  connectionId: string,
  data: Uint8Array | string,
  timeoutMs: number,
): Promise<AttemptFailure | undefined> {
  try {
    const { status, errorType } = await client.post(connectionId, data, timeoutMs);
    if (status >= 200 && status < 300) return undefined;
    const answered = { name: errorType ?? `HTTP${status}`, $metadata: { httpStatusCode: status } };
    return { kind: classifyPostError(answered), status, errorName: answered.name };
  } catch (err) {
    // The code (ECONNRESET, ETIMEDOUT…) says more than the name (`Error`) of a network failure.
    const { name, code } = (err ?? {}) as { name?: string; code?: unknown };
    return { kind: classifyPostError(err), status: httpStatusOf(err), errorName: typeof code === 'string' ? code : name };
  }
}

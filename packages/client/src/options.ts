import type { WebSocketConstructor } from './websocket';

/** How to reach the chat and how hard to hold on to it. Durations are in milliseconds. */
export interface ChatClientOptions {
  /** The stage URL, `wss://HOST/STAGE` (the client appends `token` and `room_id`). */
  readonly url: string;
  /** A fixed token. Give `getToken` instead when tokens expire. */
  readonly token?: string;
  /** Returns a token; called before every connection (so short-lived tokens work). */
  readonly getToken?: () => string | Promise<string>;
  /**
   * A room to join as soon as the connection opens (before the client reports `open`) and keep joined, as if
   * `join(room)` had been called. It is joined with a `join` frame, not with `room_id` in the URL. @default - none
   */
  readonly room?: string;
  /** The `WebSocket` class. @default - the global `WebSocket` (browsers, Node ≥ 22) */
  readonly WebSocket?: WebSocketConstructor;
  /** A request without an answer after this long fails with `TIMEOUT`. @default 10000 */
  readonly requestTimeoutMs?: number;
  /** A socket not open after this long is abandoned (and counts as a refused handshake). @default 15000 */
  readonly connectTimeoutMs?: number;
  /** Send a ping after this long without a frame from the server (API Gateway drops a connection idle for 10 minutes). @default 300000 */
  readonly pingAfterMs?: number;
  /**
   * Open a new connection, uniformly at random within this range after the current one opened, and retire the
   * old one once the new one caught up (API Gateway ends every connection after 2 hours).
   * @default [6000000, 6900000] (100 to 115 minutes)
   */
  readonly rotateAfterMs?: readonly [number, number];
  /** How long the old connection stays open after the new one took over. @default 2000 */
  readonly overlapMs?: number;
  /** The first reconnect delay (doubled per failed attempt, jittered). @default 1000 */
  readonly backoffBaseMs?: number;
  /** The longest reconnect delay. @default 30000 */
  readonly backoffMaxMs?: number;
  /** How long a missing `seq` holds later frames before it is skipped. @default 10000 */
  readonly gapTimeoutMs?: number;
  /** Consecutive closes before `open` after which the client makes one last attempt with a fresh token, then stops. @default 3 */
  readonly maxRefusals?: number;
  /** The timer functions. @default - the global `setTimeout` / `clearTimeout` */
  readonly timers?: Timers;
  /** A random number in [0, 1), for jitter. @default Math.random */
  readonly random?: () => number;
}

/**
 * The timer functions the client uses. Defaults to the global `setTimeout` / `clearTimeout`, looked up on
 * every call (so fake timers installed later still apply); tests may inject their own clock.
 */
export interface Timers {
  /** Calls `callback` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a timer started by `setTimeout`. */
  clearTimeout(handle: unknown): void;
}

/**
 * The contract shared by the construct, the Lambda handlers and the local gateway: environment-variable
 * names, table attribute names, protocol limits and error codes. It has no imports, so it compiles both
 * under jsii (CommonJS) and into the esbuild handler bundles.
 *
 * Not part of the public jsii API (not re-exported from `index.ts`).
 */

/** Attribute and index names of the connections table (DESIGN §3). */
export const TABLE = {
  partitionKey: 'connection_id',
  roomId: 'room_id',
  userId: 'user_id',
  ttl: 'ttl',
  createdAt: 'created_at',
  roomIndex: 'room_id-index',
  userIndex: 'user_id-index',
} as const;

/** Environment variables read by the handlers. */
export const ENV = {
  /** Name of the connections table. */
  connectionsTable: 'CONNECTIONS_TABLE',
  /** `https://{apiId}.execute-api.{region}.{urlSuffix}/{stage}` — where posts to connections go. */
  managementEndpoint: 'MANAGEMENT_ENDPOINT',
  /** `hs256` | `jwks` | `none`. */
  authMode: 'AUTH_MODE',
  /** ARN (or name) of the Secrets Manager secret that holds the HS256 key (hs256 mode). */
  authSecretArn: 'AUTH_SECRET_ARN',
  /** JSON key inside the secret's SecretString that holds the key; empty = the whole SecretString. */
  authSecretField: 'AUTH_SECRET_FIELD',
  /** JWKS URL (jwks mode). */
  authJwksUrl: 'AUTH_JWKS_URL',
  /** Required `iss`, if any. */
  authIssuer: 'AUTH_ISSUER',
  /** Accepted `aud` values, comma-separated, if any. */
  authAudience: 'AUTH_AUDIENCE',
  /** Accepted algorithms, comma-separated (jwks mode; hs256 is always HS256). */
  authAlgorithms: 'AUTH_ALGORITHMS',
  /** Claim that carries the user id. */
  userIdClaim: 'USER_ID_CLAIM',
  /** Claim that lists the rooms the user may join (`*` = any); empty = rooms not checked. */
  roomsClaim: 'ROOMS_CLAIM',
  /** Clock skew tolerated on `exp` / `nbf`, in seconds. */
  clockToleranceSeconds: 'CLOCK_TOLERANCE_SECONDS',
  /** Connection row lifetime, in seconds (API Gateway's 2 h + margin). */
  connectionTtlSeconds: 'CONNECTION_TTL_SECONDS',
  /** Largest `message` accepted by sendMessage, in bytes (UTF-8). */
  maxMessageBytes: 'MAX_MESSAGE_BYTES',
  /** Posts in flight at once during a fan-out. */
  fanoutConcurrency: 'FANOUT_CONCURRENCY',
  /** Attempts per post (first try included) on 429 / 5xx / timeout. */
  postMaxAttempts: 'POST_MAX_ATTEMPTS',
  /** Deadline of one post attempt, in milliseconds. */
  postTimeoutMs: 'POST_TIMEOUT_MS',
  /** Base delay of the exponential backoff between attempts, in milliseconds. */
  postBackoffBaseMs: 'POST_BACKOFF_BASE_MS',
  /** Every valid client action, comma-separated (built-in ones and the app's `addRoute` ones), for `$default`'s hint. */
  validActions: 'VALID_ACTIONS',
  /** CloudWatch embedded-metric namespace. */
  metricsNamespace: 'METRICS_NAMESPACE',
} as const;

/** CloudWatch embedded-format metrics emitted by the fan-out, with the dimension `ApiId`. */
export const METRICS = {
  dimension: 'ApiId',
  delivered: 'PostsDelivered',
  gone: 'ConnectionsGone',
  failed: 'PostsFailed',
  recipients: 'Recipients',
} as const;

/** Valid client actions (route keys other than `$connect`, `$disconnect`, `$default`). */
export const ACTIONS = {
  sendMessage: 'sendMessage',
  ping: 'ping',
} as const;

/** Error codes of server → client error frames (DESIGN §2). */
export const ERROR_CODES = {
  invalidJson: 'INVALID_JSON',
  invalidMessage: 'INVALID_MESSAGE',
  messageTooLarge: 'MESSAGE_TOO_LARGE',
  roomMismatch: 'ROOM_MISMATCH',
  unknownAction: 'UNKNOWN_ACTION',
} as const;

/** Keys of the authorizer context that the routes read. */
export const AUTH_CONTEXT = {
  userId: 'userId',
  roomId: 'roomId',
} as const;

/** API Gateway WebSocket quotas (DESIGN §5) and our defaults derived from them. */
export const LIMITS = {
  /** API Gateway ends every connection after 2 hours. */
  maxConnectionSeconds: 2 * 60 * 60,
  /** Idle timeout of an API Gateway WebSocket connection. */
  idleTimeoutSeconds: 10 * 60,
  /** Largest WebSocket message API Gateway accepts. */
  maxMessageBytes: 128 * 1024,
  /** Largest WebSocket frame API Gateway accepts. */
  maxFrameBytes: 32 * 1024,
  /** Integration timeout. */
  integrationTimeoutSeconds: 29,
  /** Room ids: 1–128 chars of `[A-Za-z0-9_.:-]`. */
  roomIdPattern: '^[A-Za-z0-9_.:-]{1,128}$',
  /** Longest user id (token claim) accepted: keeps the authorizer context far below its 8 KB quota. */
  maxUserIdLength: 1024,
} as const;

/** Values of the `AUTH_MODE` environment variable. */
export const AUTH_MODES = {
  /** HS256 tokens, key from a Secrets Manager secret (`AUTH_SECRET_ARN`, `AUTH_SECRET_FIELD`). */
  hs256: 'hs256',
  /** Asymmetric tokens verified against a JWKS URL (`AUTH_JWKS_URL`, `AUTH_ALGORITHMS`). */
  jwks: 'jwks',
  /** Demo only: no token; every connection gets an anonymous user id. */
  none: 'none',
} as const;

/** Defaults shared by the construct and the handlers (each equal to its documented `@default`). */
export const DEFAULTS = {
  stageName: 'dev',
  routeSelectionExpression: '$request.body.action',
  throttlingBurstLimit: 5000,
  throttlingRateLimit: 10000,
  connectionCountAlarmThreshold: 1000,
  userIdClaim: 'sub',
  clockToleranceSeconds: 5,
  /** 2 h + 5 min margin. */
  connectionTtlSeconds: LIMITS.maxConnectionSeconds + 5 * 60,
  /** Message text cap: 31 KiB, so that `{"action":"sendMessage","message":…}` fits in one 32 KB frame. */
  maxMessageBytes: 31 * 1024,
  /** Chosen by `npm run bench`: the knee of the 5000-connection sweep (see BENCHMARKS.md). */
  fanoutConcurrency: 100,
  /** Handlers' memory, MiB. */
  handlerMemorySize: 256,
  /** sendMessage's memory, MiB: a fan-out is CPU-bound, and Lambda's CPU share grows with memory (BENCHMARKS.md). */
  fanoutMemorySize: 1024,
  postMaxAttempts: 3,
  postTimeoutMs: 3000,
  /** 0–200 ms, then 0–400 ms: long enough for a 429 from the shared account throttle to clear. */
  postBackoffBaseMs: 200,
  metricsNamespace: 'WebSocketChat',
} as const;

/** Compiled once: the check runs on every handshake and every route event. (No `g` flag: `test` keeps no state.) */
const ROOM_ID = new RegExp(LIMITS.roomIdPattern);

/** The room-id check, shared by the authorizer and the local gateway. */
export function isValidRoomId(value: unknown): value is string {
  return typeof value === 'string' && ROOM_ID.test(value);
}

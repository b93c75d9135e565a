/**
 * The contract shared by the construct, the Lambda handlers and the local gateway: environment-variable
 * names, table attribute names, protocol limits and error codes. It has no imports, so it compiles both
 * under jsii (CommonJS) and into the esbuild handler bundles.
 *
 * Not part of the public jsii API (not re-exported from `index.ts`).
 */

/**
 * Attribute and index names of the connections table. One item per connection (`sk = "connection"`), one per
 * room the connection is in (`sk = "room#<room_id>"`, with `room_id`, `user_id` and `shard`), and idempotency
 * marks of publishes (`connection_id = "idem#<key>"`, `sk = "idem"`). The key schema and both indexes are frozen:
 * CloudFormation cannot change them in place.
 */
export const TABLE = {
  partitionKey: 'connection_id',
  sortKey: 'sk',
  roomId: 'room_id',
  userId: 'user_id',
  shard: 'shard',
  ttl: 'ttl',
  createdAt: 'created_at',
  /** The rooms claim of the token (JSON), on the connection item. */
  rooms: 'rooms',
  /** `sk` of the connection item. */
  connectionSk: 'connection',
  /** `sk` prefix of a membership item: `room#<room_id>`. */
  roomSkPrefix: 'room#',
  /** `connection_id` prefix of a publish idempotency mark: `idem#<key>`. */
  idempotencyPrefix: 'idem#',
  /** `sk` of a publish idempotency mark. */
  idempotencySk: 'idem',
  /** `connection_id` prefix of a sharded broadcast's progress marks: `fanout#<broadcast_id>`. */
  progressPrefix: 'fanout#',
  roomIndex: 'room_id-index',
  userIndex: 'user_id-index',
} as const;

/**
 * Attribute names of the messages table (history): partition key `room_id`, sort key `seq`. The room's counter
 * is the item `seq = 0` (attribute `last_seq`, never expires); every other item is a frame as delivered.
 */
export const MESSAGES = {
  partitionKey: 'room_id',
  sortKey: 'seq',
  /** The counter item's sort key. */
  counterSeq: 0,
  lastSeq: 'last_seq',
  ttl: 'ttl',
  /** The stored frame, as JSON (posted as is by a replay). */
  frame: 'frame',
} as const;

/**
 * Number of shards of a room (the `shard` attribute, range key of `room_id-index`): a large room splits into
 * disjoint key ranges that parallel fan-out workers Query independently.
 */
export const SHARDS = 64;

/** FNV-1a, 32-bit, of a string's UTF-16 code units (connection ids are ASCII). */
/* eslint-disable no-bitwise -- a hash is bit arithmetic */
export function fnv1a32(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}
/* eslint-enable no-bitwise */

/** The shard of a connection: FNV-1a of its id, mod {@link SHARDS}. */
export function shardOf(connectionId: string): number {
  return fnv1a32(connectionId) % SHARDS;
}

/** Environment variables read by the handlers. */
export const ENV = {
  /** Name of the connections table. */
  connectionsTable: 'CONNECTIONS_TABLE',
  /** Name of the messages table (history); unset when history is off. */
  messagesTable: 'MESSAGES_TABLE',
  /** How long a stored message is kept, in seconds. */
  historyRetentionSeconds: 'HISTORY_RETENTION_SECONDS',
  /** Most rooms one connection may be in at once. */
  maxRoomsPerConnection: 'MAX_ROOMS_PER_CONNECTION',
  /** Rooms of at most this many connections get `member_joined` / `member_left` events; 0 = never. */
  presenceEventsMaxConnections: 'PRESENCE_EVENTS_MAX_CONNECTIONS',
  /** Name (or ARN) of the fan-out worker function that sharded broadcasts invoke. */
  fanoutWorkerFunction: 'FANOUT_WORKER_FUNCTION',
  /** Items a broadcast reads itself before it hands the rest of the room to workers. */
  shardThreshold: 'SHARD_THRESHOLD',
  /** Most workers of one broadcast. */
  maxFanoutWorkers: 'MAX_FANOUT_WORKERS',
  /** Posts per second that all workers of one broadcast share. */
  fanoutRateBudget: 'FANOUT_RATE_BUDGET',
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
  /** Longest accepted token lifetime (`exp − iat`), in seconds; unset = not checked. */
  maxTokenLifetimeSeconds: 'MAX_TOKEN_LIFETIME_SECONDS',
  /** `true`: refuse a token whose `iat` lies in the future beyond the clock tolerance. */
  rejectFutureIat: 'REJECT_FUTURE_IAT',
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
  /** Workers a sharded broadcast dispatched. */
  workers: 'FanoutWorkers',
  /** Milliseconds from the start of a broadcast (or worker) to its last post. */
  timeToLastPost: 'TimeToLastPostMs',
  /** Messages and room events stored in history. */
  stored: 'MessagesStored',
  /** Messages refused with `UNAVAILABLE` because they could not be stored. */
  storeFailed: 'StoreFailures',
} as const;

/** Valid client actions (route keys other than `$connect`, `$disconnect`, `$default`). */
export const ACTIONS = {
  sendMessage: 'sendMessage',
  ping: 'ping',
  join: 'join',
  leave: 'leave',
  presence: 'presence',
  history: 'history',
} as const;

/** Error codes of server → client error frames (README, "Wire protocol"). */
export const ERROR_CODES = {
  invalidJson: 'INVALID_JSON',
  invalidMessage: 'INVALID_MESSAGE',
  messageTooLarge: 'MESSAGE_TOO_LARGE',
  roomMismatch: 'ROOM_MISMATCH',
  forbiddenRoom: 'FORBIDDEN_ROOM',
  tooManyRooms: 'TOO_MANY_ROOMS',
  invalidRoom: 'INVALID_ROOM',
  unavailable: 'UNAVAILABLE',
  unknownAction: 'UNKNOWN_ACTION',
} as const;

/** Keys of the authorizer context that the routes read. */
export const AUTH_CONTEXT = {
  userId: 'userId',
  /** The handshake's `room_id`; absent when the connection joined no room at connect. */
  roomId: 'roomId',
  /** The token's rooms claim, JSON-encoded; absent when rooms are not restricted. */
  rooms: 'rooms',
} as const;

/** API Gateway WebSocket quotas (README, "API Gateway limits this respects") and our defaults derived from them. */
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
  /** Longest JSON-encoded rooms claim: the whole authorizer context must stay under 8 KB. */
  maxRoomsClaimBytes: 6 * 1024,
  /** Longest `request_id` a client may send. */
  maxRequestIdLength: 64,
  /** Most messages one `history` answer holds. */
  maxHistoryLimit: 100,
  /** A `history` answer stops before this many bytes (API Gateway's 128 KB message limit, less a margin). */
  maxHistoryAnswerBytes: 120 * 1024,
  /** Membership items `presence` reads at most. */
  maxPresenceItems: 1000,
  /** Longest connect URL API Gateway accepts, in characters. */
  maxConnectUrlLength: 4096,
  /** Publish: `type` is 1–128 characters. */
  maxEventTypeLength: 128,
  /** Publish idempotency marks live this long, in seconds. */
  idempotencyTtlSeconds: 5 * 60,
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
  /** Chosen by `npm run bench`: the knee of the 5000-connection sweep on the lean SigV4 path (see BENCHMARKS.md). */
  fanoutConcurrency: 200,
  /** Handlers' memory, MiB. */
  handlerMemorySize: 256,
  /** sendMessage's memory, MiB: a fan-out is CPU-bound, and Lambda's CPU share grows with memory (BENCHMARKS.md). */
  fanoutMemorySize: 1024,
  postMaxAttempts: 3,
  postTimeoutMs: 3000,
  /** 0–200 ms, then 0–400 ms: long enough for a 429 from the shared account throttle to clear. */
  postBackoffBaseMs: 200,
  metricsNamespace: 'WebSocketChat',
  /** History of a room is kept this long (`historyRetention`). */
  historyRetentionSeconds: 24 * 60 * 60,
  maxRoomsPerConnection: 20,
  /** Presence events only in rooms up to this size: above it, a connect storm would cost N² posts. */
  presenceEventsMaxConnections: 100,
  /** Chosen by `npm run bench` (see BENCHMARKS.md). */
  shardThreshold: 2000,
  /** Chosen by `npm run bench`: with shares in proportion to the work, 8 keep the whole budget in use (BENCHMARKS.md). */
  maxFanoutWorkers: 8,
  /** Below API Gateway's account-wide 10,000 requests/s, which clients' own frames share. */
  fanoutRateBudget: 8000,
} as const;

/** Compiled once: the check runs on every handshake and every route event. (No `g` flag: `test` keeps no state.) */
const ROOM_ID = new RegExp(LIMITS.roomIdPattern);

/** The room-id check, shared by the authorizer and the local gateway. */
export function isValidRoomId(value: unknown): value is string {
  return typeof value === 'string' && ROOM_ID.test(value);
}

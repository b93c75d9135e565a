/**
 * The declarative spec of the system, read by both consumers: the `WebSocketChat` construct builds its tables,
 * functions, routes, grants and environments from it, and the local gateway builds its tables, routes and
 * handshake checks from it. A fact stated here is stated nowhere else (`test/construct/spec-vs-gateway.test.ts`
 * holds a synthesized template against what the gateway runs).
 *
 * Like `contract.ts` it imports nothing but the contract, so it compiles under jsii (CommonJS) and into the
 * esbuild bundles alike. Not part of the public jsii API.
 */
import { ACTIONS, ENV, LIMITS, MESSAGES, TABLE } from './contract';

/** A key attribute: DynamoDB's `S` (string) or `N` (number). */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

/** A global secondary index (every index projects ALL attributes). */
export interface IndexSpec {
  readonly name: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
}

export type TableId = 'connections' | 'messages';

/** A DynamoDB table (PAY_PER_REQUEST, point-in-time recovery, TTL on `ttlAttribute`). */
export interface TableSpec {
  readonly id: TableId;
  /** Construct id inside `WebSocketChat` (pinned: it is part of the table's logical ID). */
  readonly constructId: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  readonly ttlAttribute: string;
  readonly indexes: readonly IndexSpec[];
  /** Exists only while history is on. */
  readonly historyOnly: boolean;
}

export const CONNECTIONS_TABLE: TableSpec = {
  id: 'connections',
  constructId: 'ConnectionsTable',
  partitionKey: { name: TABLE.partitionKey, type: 'S' },
  sortKey: { name: TABLE.sortKey, type: 'S' },
  ttlAttribute: TABLE.ttl,
  indexes: [
    // Sparse: only membership items carry `room_id`. Ranged by shard, so a large room splits into key ranges.
    { name: TABLE.roomIndex, partitionKey: { name: TABLE.roomId, type: 'S' }, sortKey: { name: TABLE.shard, type: 'N' } },
    // A push to a user reads `user_id = :u AND sk = "connection"`: one item per live connection of the user.
    { name: TABLE.userIndex, partitionKey: { name: TABLE.userId, type: 'S' }, sortKey: { name: TABLE.sortKey, type: 'S' } },
  ],
  historyOnly: false,
};

export const MESSAGES_TABLE: TableSpec = {
  id: 'messages',
  constructId: 'MessagesTable',
  partitionKey: { name: MESSAGES.partitionKey, type: 'S' },
  sortKey: { name: MESSAGES.sortKey, type: 'N' },
  ttlAttribute: MESSAGES.ttl,
  indexes: [],
  historyOnly: true,
};

export const TABLES: readonly TableSpec[] = [CONNECTIONS_TABLE, MESSAGES_TABLE];

/** DynamoDB actions a handler may be granted (never Scan). */
export type DynamoAction =
  | 'GetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'Query'
  | 'BatchWriteItem';

/** Table actions of one handler on one table: on the table itself and/or on named indexes. */
export interface TableGrant {
  readonly table: TableId;
  /** Actions on the table itself. */
  readonly actions: readonly DynamoAction[];
  /** Indexes the handler Queries. */
  readonly queryIndexes?: readonly string[];
}

/**
 * Memory and timeout class: `standard` (small, 10 s), `fanout` (a broadcast from one invocation: CPU-bound, up to
 * API Gateway's 29 s integration timeout), `worker` (a shard range of a large room).
 */
export type SizeClass = 'standard' | 'fanout' | 'worker';

/** Lambda timeout of each size class, in seconds (memory is a prop of the construct). */
export const TIMEOUT_SECONDS: Readonly<Record<SizeClass, number>> = {
  standard: 10,
  // A route's integration cannot outlive API Gateway's 29 s.
  fanout: LIMITS.integrationTimeoutSeconds,
  // Invoked asynchronously: not bound by API Gateway. Long enough for a shard range at a worker's share of the
  // rate budget; a retried worker skips the shards it finished.
  worker: 120,
};

export type HandlerId =
  | 'authorizer'
  | 'connect'
  | 'disconnect'
  | 'sendMessage'
  | 'ping'
  | 'default'
  | 'join'
  | 'leave'
  | 'presence'
  | 'history'
  | 'publish'
  | 'fanoutWorker';

/** One Lambda handler: its bundle, its route (if any), its rights and the environment it reads. */
export interface HandlerSpec {
  readonly id: HandlerId;
  /** `assets/handlers/{bundle}.lambda/index.js`, built from `src/handlers/{bundle}.lambda.ts`. */
  readonly bundle: string;
  /** Construct id of the function (pinned: part of its logical ID). */
  readonly constructId: string;
  /** Prefix of the ids of its role (`{resourceId}Role`), log group (`{resourceId}Logs`) and alarm (pinned). */
  readonly resourceId: string;
  readonly description: string;
  /** The API route it serves; the authorizer, publish and the fan-out worker serve none. */
  readonly routeKey?: string;
  readonly size: SizeClass;
  readonly tables: readonly TableGrant[];
  /** `execute-api:ManageConnections` POST on the stage's `@connections`. */
  readonly postsToConnections: boolean;
  /** Other handlers it invokes asynchronously (`lambda:InvokeFunction`). */
  readonly invokes: readonly HandlerId[];
  /** Environment variables it reads (their values come from each consumer: AWS resources, or local endpoints). */
  readonly env: readonly string[];
  /** Deployed only while history is on. */
  readonly historyOnly: boolean;
}

/** Removing the items of a connection that answered 410 Gone: Query its key, batch-delete. */
const GONE_CLEANUP: readonly DynamoAction[] = ['Query', 'BatchWriteItem'];

/** What every handler that posts to connections reads. */
const POSTING_ENV = [
  ENV.connectionsTable,
  ENV.managementEndpoint,
  ENV.metricsNamespace,
  ENV.fanoutConcurrency,
  ENV.postMaxAttempts,
  ENV.postTimeoutMs,
  ENV.postBackoffBaseMs,
] as const;

/** What every handler that sends `member_joined` / `member_left` reads. */
const PRESENCE_EVENTS_ENV = [ENV.presenceEventsMaxConnections] as const;

/** What a broadcast that may hand a large room to workers reads. */
const SHARDING_ENV = [ENV.fanoutWorkerFunction, ENV.shardThreshold, ENV.maxFanoutWorkers, ENV.fanoutRateBudget] as const;

/** Every variable the authorizer may read (a `ChatAuth` sets those of its mode). */
export const AUTH_ENV = [
  ENV.authMode,
  ENV.authSecretArn,
  ENV.authSecretField,
  ENV.authJwksUrl,
  ENV.authIssuer,
  ENV.authAudience,
  ENV.authAlgorithms,
  ENV.userIdClaim,
  ENV.roomsClaim,
  ENV.clockToleranceSeconds,
  ENV.maxTokenLifetimeSeconds,
  ENV.rejectFutureIat,
] as const;

export const HANDLERS: readonly HandlerSpec[] = [
  {
    id: 'authorizer',
    bundle: 'authorizer',
    constructId: 'Authorizer',
    resourceId: 'Authorizer',
    description: 'WebSocketChat $connect JWT authorizer',
    size: 'standard',
    tables: [],
    postsToConnections: false,
    invokes: [],
    env: AUTH_ENV,
    historyOnly: false,
  },
  {
    id: 'connect',
    bundle: 'connect',
    constructId: 'Connect',
    resourceId: 'Connect',
    description: 'WebSocketChat $connect: stores the connection and its handshake room',
    routeKey: '$connect',
    size: 'standard',
    // PutItem: the connection and membership items; Query on the room index: presence events in small rooms.
    tables: [{ table: 'connections', actions: ['PutItem', 'BatchWriteItem', ...GONE_CLEANUP], queryIndexes: [TABLE.roomIndex] }],
    postsToConnections: true,
    invokes: [],
    env: [...POSTING_ENV, ENV.connectionTtlSeconds, ...PRESENCE_EVENTS_ENV],
    historyOnly: false,
  },
  {
    id: 'disconnect',
    bundle: 'disconnect',
    constructId: 'Disconnect',
    resourceId: 'Disconnect',
    description: 'WebSocketChat $disconnect: removes every item of the connection',
    routeKey: '$disconnect',
    size: 'standard',
    tables: [{ table: 'connections', actions: [...GONE_CLEANUP], queryIndexes: [TABLE.roomIndex] }],
    postsToConnections: true,
    invokes: [],
    env: [...POSTING_ENV, ...PRESENCE_EVENTS_ENV],
    historyOnly: false,
  },
  {
    id: 'sendMessage',
    bundle: 'send-message',
    constructId: 'SendMessage',
    resourceId: 'SendMessage',
    description: 'WebSocketChat sendMessage: stores a message in its room history and fans it out',
    routeKey: ACTIONS.sendMessage,
    size: 'fanout',
    tables: [
      { table: 'connections', actions: ['GetItem', ...GONE_CLEANUP], queryIndexes: [TABLE.roomIndex] },
      { table: 'messages', actions: ['UpdateItem', 'PutItem'] },
    ],
    postsToConnections: true,
    invokes: ['fanoutWorker'],
    env: [...POSTING_ENV, ENV.messagesTable, ENV.historyRetentionSeconds, ENV.maxMessageBytes, ...SHARDING_ENV],
    historyOnly: false,
  },
  {
    id: 'ping',
    bundle: 'ping',
    constructId: 'Ping',
    resourceId: 'Ping',
    description: 'WebSocketChat ping: answers pong',
    routeKey: ACTIONS.ping,
    size: 'standard',
    tables: [{ table: 'connections', actions: [...GONE_CLEANUP] }],
    postsToConnections: true,
    invokes: [],
    env: POSTING_ENV,
    historyOnly: false,
  },
  {
    id: 'default',
    bundle: 'default',
    // ('Default' is the id constructs reserve for a construct's default child.)
    constructId: 'DefaultRoute',
    resourceId: 'Default',
    description: 'WebSocketChat $default: answers unknown actions and malformed frames',
    routeKey: '$default',
    size: 'standard',
    tables: [{ table: 'connections', actions: [...GONE_CLEANUP] }],
    postsToConnections: true,
    invokes: [],
    env: [...POSTING_ENV, ENV.validActions],
    historyOnly: false,
  },
  {
    id: 'join',
    bundle: 'join',
    constructId: 'Join',
    resourceId: 'Join',
    description: 'WebSocketChat join: adds the connection to a room',
    routeKey: ACTIONS.join,
    size: 'standard',
    tables: [
      { table: 'connections', actions: ['GetItem', 'PutItem', ...GONE_CLEANUP], queryIndexes: [TABLE.roomIndex] },
      { table: 'messages', actions: ['GetItem'] },
    ],
    postsToConnections: true,
    invokes: [],
    env: [...POSTING_ENV, ENV.messagesTable, ENV.connectionTtlSeconds, ENV.maxRoomsPerConnection, ...PRESENCE_EVENTS_ENV],
    historyOnly: false,
  },
  {
    id: 'leave',
    bundle: 'leave',
    constructId: 'Leave',
    resourceId: 'Leave',
    description: 'WebSocketChat leave: removes the connection from a room',
    routeKey: ACTIONS.leave,
    size: 'standard',
    tables: [{ table: 'connections', actions: ['DeleteItem', ...GONE_CLEANUP], queryIndexes: [TABLE.roomIndex] }],
    postsToConnections: true,
    invokes: [],
    env: [...POSTING_ENV, ...PRESENCE_EVENTS_ENV],
    historyOnly: false,
  },
  {
    id: 'presence',
    bundle: 'presence',
    constructId: 'Presence',
    resourceId: 'Presence',
    description: 'WebSocketChat presence: lists the users of a room',
    routeKey: ACTIONS.presence,
    size: 'standard',
    tables: [{ table: 'connections', actions: ['GetItem', ...GONE_CLEANUP], queryIndexes: [TABLE.roomIndex] }],
    postsToConnections: true,
    invokes: [],
    env: POSTING_ENV,
    historyOnly: false,
  },
  {
    id: 'history',
    bundle: 'history',
    constructId: 'History',
    resourceId: 'History',
    description: 'WebSocketChat history: pages through a room\'s stored messages',
    routeKey: ACTIONS.history,
    size: 'standard',
    tables: [
      { table: 'connections', actions: ['GetItem', ...GONE_CLEANUP] },
      { table: 'messages', actions: ['GetItem', 'Query'] },
    ],
    postsToConnections: true,
    invokes: [],
    env: [...POSTING_ENV, ENV.messagesTable],
    historyOnly: true,
  },
  {
    id: 'publish',
    bundle: 'publish',
    constructId: 'Publish',
    resourceId: 'Publish',
    description: 'WebSocketChat publish: a backend pushes an event to a connection, a user or a room',
    size: 'fanout',
    tables: [
      // PutItem / DeleteItem: idempotency marks (conditional writes).
      { table: 'connections', actions: ['PutItem', 'DeleteItem', ...GONE_CLEANUP], queryIndexes: [TABLE.roomIndex, TABLE.userIndex] },
      { table: 'messages', actions: ['UpdateItem', 'PutItem'] },
    ],
    postsToConnections: true,
    invokes: ['fanoutWorker'],
    env: [...POSTING_ENV, ENV.messagesTable, ENV.historyRetentionSeconds, ...SHARDING_ENV],
    historyOnly: false,
  },
  {
    id: 'fanoutWorker',
    bundle: 'fanout-worker',
    constructId: 'FanoutWorker',
    resourceId: 'FanoutWorker',
    description: 'WebSocketChat fan-out worker: delivers one shard range of a large room\'s broadcast',
    size: 'worker',
    // PutItem: the progress marks that let a retried worker skip the shards it finished.
    tables: [{ table: 'connections', actions: ['GetItem', 'PutItem', ...GONE_CLEANUP], queryIndexes: [TABLE.roomIndex] }],
    postsToConnections: true,
    invokes: [],
    env: POSTING_ENV,
    historyOnly: false,
  },
];

/** The handler with this id. */
export function handlerSpec(id: HandlerId): HandlerSpec {
  const spec = HANDLERS.find((h) => h.id === id);
  if (!spec) throw new Error(`no handler ${id}`);
  return spec;
}

/** The handlers deployed with history on or off. */
export function activeHandlers(history: boolean): HandlerSpec[] {
  return HANDLERS.filter((h) => history || !h.historyOnly);
}

/** The tables deployed with history on or off. */
export function activeTables(history: boolean): TableSpec[] {
  return TABLES.filter((t) => history || !t.historyOnly);
}

/** Route key → handler bundle, as the API routes them (the app's own `addRoute` routes come on top). */
export function routeTable(history: boolean): Record<string, string> {
  const routes: Record<string, string> = {};
  for (const h of activeHandlers(history)) if (h.routeKey) routes[h.routeKey] = h.bundle;
  return routes;
}

/** The client actions (route keys that are not `$…`), for `$default`'s list. */
export function clientActions(history: boolean): string[] {
  return Object.keys(routeTable(history)).filter((key) => !key.startsWith('$'));
}

/**
 * Identity sources of the `$connect` authorizer: API Gateway answers 401 without calling it when one is missing.
 * The token travels in the query string: browsers cannot set headers on a WebSocket. In demo mode
 * (`ChatAuth.none()`) there is none.
 */
export const TOKEN_IDENTITY_SOURCE = 'route.request.querystring.token';

export function identitySources(authMode: string): string[] {
  return authMode === 'none' ? [] : [TOKEN_IDENTITY_SOURCE];
}

/** The route selection expression of the API. */
export const ROUTE_SELECTION_EXPRESSION = '$request.body.action';

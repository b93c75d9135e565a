import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import { decideOnError, decideOnResult, type AuthorizerDecision } from './authorizer-result';
import { createDevToken, DEV_TOKEN_TTL_SECONDS, randomSecret } from './dev-token';
import { startEmbeddedDynamo, type EmbeddedDynamo } from './dynamo';
import {
  authorizerEvent,
  connectEvent,
  connectMethodArn,
  disconnectEvent,
  LOCAL_ACCOUNT_ID,
  messageEvent,
  newGatewayId,
  readHandshake,
  selectRoute,
  type ApiInfo,
  type AuthorizerContext,
  type ConnectionInfo,
} from './events';
import { defaultHandlersDir, handlerFile, HandlerError, startHandlerRuntime, type HandlerOutput, type HandlerRuntime } from './handlers';
import { identitySourcesPresent, integrationResponse, isWebSocketHandshake, rejectUpgrade } from './handshake';
import { urlHost } from './listen';
import { handleManagementRequest, sendError, type ManagedConnection } from './management-api';
import { startSecretsEmulator, type SecretsEmulator } from './secrets-emulator';
import { handleWebRequest, sendNotFound, type PageAssets, type WebOptions } from './web';
import { DEFAULTS, ENV, LIMITS } from '../shared/contract';

/**
 * The local gateway (DESIGN §6): an API Gateway WebSocket stage on one machine. It serves the WebSocket
 * endpoint and the `@connections` management API on one port, runs the shipped handler bundles for the
 * authorizer and every route, and points them (through environment variables only) at an embedded
 * DynamoDB and a local Secrets Manager holding the HS256 key.
 */

/** Route key → handler bundle name (`{handlersDir}/{name}.lambda/index.js`), as the construct wires them. */
export const DEFAULT_ROUTES: Readonly<Record<string, string>> = {
  $connect: 'connect',
  $disconnect: 'disconnect',
  $default: 'default',
  sendMessage: 'send-message',
  ping: 'ping',
};

/** The authorizer's handler bundle. */
export const AUTHORIZER_HANDLER = 'authorizer';

/** The authorizer's identity source, as the construct configures it. */
export const DEFAULT_IDENTITY_SOURCE: readonly string[] = ['route.request.querystring.token'];

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_TABLE_NAME = 'websocket-chat-connections';
export const DEFAULT_API_ID = 'local';
export const DEFAULT_REGION = 'us-east-1';
export const SECRET_NAME = 'cdk-websocket-chat/local/hs256';

export interface LocalGatewayOptions {
  /** TCP port of the WebSocket endpoint and management API; 0 picks a free one. @default 8080 */
  readonly port?: number;
  /** Interface to listen on. @default '127.0.0.1' */
  readonly host?: string;
  /** Stage name: the URL path (`ws://host:port/{stage}`). @default 'dev' */
  readonly stage?: string;
  /** The HS256 key the authorizer verifies tokens with. @default - a random key */
  readonly secret?: string;
  /** Close a connection (1001) after this many seconds without a client frame. @default 600 */
  readonly idleTimeoutSeconds?: number;
  /** Close every connection (1001) this many seconds after it opened. @default 7200 */
  readonly maxDurationSeconds?: number;
  /** Keep the DynamoDB data in this directory across restarts. @default - in memory */
  readonly persistDir?: string;
  /** Directory of the handler bundles (`{name}.lambda/index.js`). @default - the package's `assets/handlers` */
  readonly handlersDir?: string;
  /** Extra route key → handler name, merged over `DEFAULT_ROUTES` (e.g. an app's own `addRoute`). */
  readonly routes?: Readonly<Record<string, string>>;
  /** Identity sources of the authorizer: all must be present, or the handshake gets 401 without calling it. */
  readonly identitySource?: readonly string[];
  /** More environment variables for the handlers (e.g. `ROOMS_CLAIM`); they override the gateway's. */
  readonly handlerEnv?: Readonly<Record<string, string>>;
  /** Lambda timeout of each handler invocation, in seconds. @default 29 (the integration timeout) */
  readonly handlerTimeoutSeconds?: number;
  /** Where the handlers' console output goes. @default 'inherit' */
  readonly handlerOutput?: HandlerOutput;
  /**
   * Worker threads running the handler bundles (each like one warm Lambda instance, with its own module
   * scope); more use more cores under load. @default 1
   */
  readonly handlerWorkers?: number;
  /** Gateway activity log (connects, rejections, disconnects, handler errors). @default - none */
  readonly log?: (line: string) => void;
  /** Name of the connections table. @default 'websocket-chat-connections' */
  readonly tableName?: string;
  /** API id used in ARNs and events. @default 'local' */
  readonly apiId?: string;
  /** Region the handlers see. @default 'us-east-1' */
  readonly region?: string;
  /**
   * Serve the browser chat page at `http://host:port/` (other paths that are neither the stage nor the API
   * then answer 404). @default - no page (like API Gateway: 403 for other paths)
   */
  readonly page?: PageAssets;
  /**
   * Serve `POST /dev-token` (`{"sub":"NAME"}` → a dev token signed with the gateway's key), for the page.
   * A local-development convenience only: it answers same-origin requests from this machine only (see web.ts).
   * @default false
   */
  readonly devTokenEndpoint?: boolean;
}

/** What the gateway reports as it works (for tests and tools). */
export interface LocalGatewayEvents {
  /** A handshake was accepted (after `$connect` succeeded). */
  connect: [{ connectionId: string; authorizer: AuthorizerContext }];
  /** A handshake was rejected with an HTTP status. */
  reject: [{ statusCode: number; reason: string }];
  /** A connection closed and its `$disconnect` handler has finished (successfully or not). */
  disconnect: [{ connectionId: string; statusCode: number; reason: string }];
  /** A route handler failed (the client got the internal-error frame). */
  handlerError: [{ routeKey: string; connectionId: string; error: Error }];
}

export interface LocalGateway {
  /** `ws://host:port/{stage}` */
  readonly url: string;
  /** `http://host:port/{stage}` — the handlers' `MANAGEMENT_ENDPOINT`. */
  readonly managementEndpoint: string;
  /** `http://host:port/` — the chat page, when it is served. */
  readonly pageUrl?: string;
  readonly host: string;
  readonly port: number;
  readonly stage: string;
  readonly apiId: string;
  readonly region: string;
  /** The embedded DynamoDB (`AWS_ENDPOINT_URL_DYNAMODB` of the handlers). */
  readonly dynamoEndpoint: string;
  /** The local Secrets Manager (`AWS_ENDPOINT_URL_SECRETS_MANAGER` of the handlers). */
  readonly secretsEndpoint: string;
  readonly tableName: string;
  /** The HS256 key. */
  readonly secret: string;
  /** ARN of the local secret holding it (`AUTH_SECRET_ARN`). */
  readonly secretArn: string;
  readonly handlersDir: string;
  /** The handlers' environment. */
  readonly handlerEnv: Readonly<Record<string, string>>;
  readonly events: EventEmitter<LocalGatewayEvents>;
  /** Ids of the open connections. */
  connectionIds(): string[];
  /** Resolves once no handshake, handler invocation or `$disconnect` is in flight (e.g. after clients closed). */
  settled(timeoutMs?: number): Promise<void>;
  /** An HS256 token for `sub`, signed with the gateway's key. */
  devToken(sub: string, claims?: Record<string, unknown>, expiresInSeconds?: number): string;
  /** Closes every connection (1001, `$disconnect` runs), then the servers and the embedded DynamoDB. */
  close(): Promise<void>;
}

interface LiveConnection extends ManagedConnection {
  readonly info: ConnectionInfo;
  readonly ws: WebSocket;
  readonly authorizer: AuthorizerContext;
  lastActiveAt: number;
  closed: boolean;
  idleTimer?: NodeJS.Timeout;
  maxTimer?: NodeJS.Timeout;
}

/** An error of the gateway's listening socket, e.g. `EADDRINUSE`, with a readable message. */
export class GatewayListenError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
    this.name = 'GatewayListenError';
  }
}

export async function startLocalGateway(options: LocalGatewayOptions = {}): Promise<LocalGateway> {
  const host = options.host ?? DEFAULT_HOST;
  const stage = options.stage ?? DEFAULTS.stageName;
  const apiId = options.apiId ?? DEFAULT_API_ID;
  const region = options.region ?? DEFAULT_REGION;
  const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
  const secret = options.secret ?? randomSecret();
  const idleMs = (options.idleTimeoutSeconds ?? LIMITS.idleTimeoutSeconds) * 1000;
  const maxDurationMs = (options.maxDurationSeconds ?? LIMITS.maxConnectionSeconds) * 1000;
  const handlersDir = options.handlersDir ?? defaultHandlersDir();
  const routes: Record<string, string> = { ...DEFAULT_ROUTES, ...options.routes };
  const routeKeys = new Set(Object.keys(routes).filter((key) => !key.startsWith('$')));
  const identitySource = options.identitySource ?? DEFAULT_IDENTITY_SOURCE;
  const log = options.log ?? (() => undefined);
  const events = new EventEmitter<LocalGatewayEvents>();

  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stage)) throw new Error(`Invalid stage name "${stage}": use letters, digits, '-' and '_'`);
  for (const [name, ms] of [['idleTimeoutSeconds', idleMs], ['maxDurationSeconds', maxDurationMs]] as const) {
    // setTimeout holds at most 2^31-1 ms.
    if (!(ms > 0) || ms > 2 ** 31 - 1) throw new Error(`${name} must be a positive number of seconds (at most ~24 days)`);
  }
  const handlerNames = [AUTHORIZER_HANDLER, ...new Set(Object.values(routes))];
  const missing = handlerNames.filter((name) => !existsSync(handlerFile(handlersDir, name)));
  if (missing.length > 0) {
    throw new Error(
      `Handler bundle(s) not found in ${handlersDir}: ${missing.map((n) => `${n}.lambda/index.js`).join(', ')}. ` +
        'In the repository, run `npx projen bundle` first.',
    );
  }

  // 1. The gateway's port first: the management endpoint (handler env) needs it, and a taken port fails fast.
  const server = createServer();
  await listen(server, options.port ?? DEFAULT_PORT, host);
  const port = (server.address() as AddressInfo).port;
  const address = connectableAddress(host);
  const clientHost = urlHost(address);
  const authority = `${clientHost}:${port}`;
  const url = `ws://${authority}/${stage}`;
  const managementEndpoint = `http://${authority}/${stage}`;
  const api: ApiInfo = { apiId, stage, domainName: authority, region };

  // 2. The embedded DynamoDB, the local Secrets Manager, the handler runtime.
  let dynamo: EmbeddedDynamo | undefined;
  let secrets: SecretsEmulator | undefined;
  let runtime: HandlerRuntime | undefined;
  let handlerEnv: Record<string, string>;
  let secretArn: string;
  try {
    // They listen on the address the gateway is reached at.
    dynamo = await startEmbeddedDynamo({ host: address, tableName, region, persistDir: options.persistDir });
    secrets = await startSecretsEmulator({ host: address, region, accountId: LOCAL_ACCOUNT_ID });
    secretArn = secrets.put(SECRET_NAME, secret).arn;
    handlerEnv = {
      ...inheritedEnv(),
      [ENV.connectionsTable]: tableName,
      [ENV.managementEndpoint]: managementEndpoint,
      [ENV.authMode]: 'hs256',
      [ENV.authSecretArn]: secretArn,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
      // Lambda runs the bundles on its own Node.js; the SDK's warning about the local Node.js is noise here.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...options.handlerEnv,
    };
    runtime = startHandlerRuntime({
      handlersDir,
      env: handlerEnv,
      timeoutMs: (options.handlerTimeoutSeconds ?? LIMITS.integrationTimeoutSeconds) * 1000,
      output: options.handlerOutput,
      workers: options.handlerWorkers,
    });
    // Load every bundle now (a cold start up front), so a bundle that fails at module load shows at once.
    for (const { name, error } of await runtime.warm(handlerNames)) log(`warning: handler ${name} failed to load: ${error}`);
  } catch (err) {
    await runtime?.close();
    await secrets?.close();
    await dynamo?.close();
    await closeServer(server);
    throw err;
  }
  const handlers = runtime;

  // 3. The WebSocket endpoint and the management API.
  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: LIMITS.maxMessageBytes,
    perMessageDeflate: false,
    handleProtocols: (_protocols, req) => chosenProtocols.get(req) ?? false,
  });
  const chosenProtocols = new WeakMap<IncomingMessage, string>();
  const connections = new Map<string, LiveConnection>();
  const inflight = new Set<Promise<unknown>>();
  let pendingHandshakes = 0;
  let closing: Promise<void> | undefined;

  const track = <T>(promise: Promise<T>): Promise<T> => {
    inflight.add(promise);
    void promise.finally(() => inflight.delete(promise)).catch(() => undefined);
    return promise;
  };

  const web: WebOptions = {
    stage,
    page: options.page,
    // Local development only: mints a token for any name (see web.ts for who may ask).
    devToken: options.devTokenEndpoint
      ? (sub) => {
        const now = Math.floor(Date.now() / 1000);
        log(`dev token issued for "${sub}"`);
        return { token: createDevToken({ secret, sub, now }), expiresAt: now + DEV_TOKEN_TTL_SECONDS };
      }
      : undefined,
  };

  server.on('request', (req, res) => {
    if (handleManagementRequest(req, res, { stage, lookup: (id) => openConnection(id) })) return;
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === `/${stage}` || path === `/${stage}/`) return sendError(res, 426, 'UpgradeRequired', 'Upgrade Required');
    if (handleWebRequest(req, res, web)) return;
    req.resume();
    // With the page, the gateway is also a small web server: 404. Without it, API Gateway's answer: 403.
    if (options.page) sendNotFound(res);
    else sendError(res, 403, 'ForbiddenException', 'Forbidden');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => undefined);
    pendingHandshakes++;
    void handshake(req, socket, head)
      .catch((err: Error) => {
        log(`handshake error: ${err.message}`);
        rejectUpgrade(socket, 500);
      })
      .finally(() => pendingHandshakes--);
  });

  function openConnection(id: string): LiveConnection | undefined {
    const conn = connections.get(id);
    return conn && !conn.closed && conn.ws.readyState === WebSocket.OPEN ? conn : undefined;
  }

  function reject(socket: Socket, statusCode: number, reason: string, body?: string): void {
    log(`$connect rejected ${statusCode}: ${reason}`);
    rejectUpgrade(socket, statusCode, body);
    events.emit('reject', { statusCode, reason });
  }

  async function handshake(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const requestUrl = new URL(req.url ?? '/', 'http://localhost');
    if (closing) return reject(socket, 503, 'the gateway is shutting down');
    if (requestUrl.pathname !== `/${stage}` && requestUrl.pathname !== `/${stage}/`) {
      return reject(socket, 403, `no stage at ${requestUrl.pathname}`);
    }
    if (!isWebSocketHandshake(req)) {
      return reject(socket, 400, 'not a WebSocket handshake');
    }
    const sourceIp = (socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    const info: ConnectionInfo = {
      connectionId: newGatewayId(),
      connectedAt: Date.now(),
      sourceIp,
      userAgent: req.headers['user-agent'],
    };
    const request = readHandshake(req, requestUrl, sourceIp, port);

    // The authorizer, as API Gateway runs it: identity sources first, then the policy.
    if (!identitySourcesPresent(identitySource, request)) {
      return reject(socket, 401, `identity source missing (${identitySource.join(', ')})`);
    }
    const started = Date.now();
    let decision: AuthorizerDecision;
    try {
      const result = await handlers.invoke(AUTHORIZER_HANDLER, authorizerEvent(api, info, request));
      decision = decideOnResult(result, connectMethodArn(api), Date.now() - started);
    } catch (err) {
      decision = decideOnError(err as Error);
    }
    if (!decision.allow) return reject(socket, decision.statusCode, decision.reason);
    const authorizer = decision.authorizer;

    // $connect: a non-2xx statusCode (or an error) rejects the handshake.
    let result: unknown;
    try {
      result = await handlers.invoke(routes.$connect, connectEvent(api, info, request, authorizer));
    } catch (err) {
      return reject(socket, 500, `$connect handler failed: ${(err as Error).message}`);
    }
    const response = integrationResponse(result);
    if (response.statusCode < 200 || response.statusCode > 299) {
      return reject(socket, response.statusCode, '$connect handler answered ' + response.statusCode, response.body);
    }
    if (socket.destroyed || closing) {
      // The client left (or the gateway is stopping) while $connect ran: it is a disconnect.
      await runDisconnect(info, authorizer, 1006, 'Client went away before the handshake completed');
      if (!socket.destroyed) rejectUpgrade(socket, 503);
      return;
    }
    if (response.protocol) chosenProtocols.set(req, response.protocol);
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, info, authorizer));
  }

  function attach(ws: WebSocket, info: ConnectionInfo, authorizer: AuthorizerContext): void {
    const conn: LiveConnection = {
      info,
      ws,
      authorizer,
      connectedAt: info.connectedAt,
      lastActiveAt: info.connectedAt,
      sourceIp: info.sourceIp,
      userAgent: info.userAgent,
      closed: false,
      send: (data) => ws.send(data, { binary: false }),
      disconnect: () => closeConnection(conn, 1000, ''),
    };
    connections.set(info.connectionId, conn);
    conn.idleTimer = setTimeout(() => closeConnection(conn, 1001, 'Going away'), idleMs);
    conn.maxTimer = setTimeout(() => closeConnection(conn, 1001, 'Going away'), maxDurationMs);
    ws.on('message', (data: Buffer, isBinary: boolean) => onMessage(conn, data, isBinary));
    ws.on('error', (err) => log(`connection ${info.connectionId}: ${err.message}`));
    ws.on('close', (code, reason) => onClose(conn, code, reason.toString()));
    log(`$connect ${info.connectionId} accepted (principal ${authorizer.principalId ?? '-'})`);
    events.emit('connect', { connectionId: info.connectionId, authorizer });
  }

  function onMessage(conn: LiveConnection, data: Buffer, isBinary: boolean): void {
    if (conn.closed) return;
    conn.lastActiveAt = Date.now();
    conn.idleTimer?.refresh();
    const routeKey = selectRoute(data, isBinary, routeKeys);
    const event = messageEvent(api, conn.info, routeKey, data, isBinary, conn.authorizer);
    const { connectionId, requestId } = event.requestContext;
    // The integration's result is not sent back (no route responses); only @connections posts reach clients.
    track(handlers.invoke(routes[routeKey], event)).catch((err: Error) => {
      log(`${routeKey} ${connectionId} failed: ${describeError(err)}`);
      sendFrame(conn, { message: 'Internal server error', connectionId, requestId });
      events.emit('handlerError', { routeKey, connectionId, error: err });
    });
  }

  function sendFrame(conn: LiveConnection, frame: Record<string, unknown>): void {
    if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(JSON.stringify(frame));
  }

  function closeConnection(conn: LiveConnection, code: number, reason: string): void {
    if (conn.closed || conn.ws.readyState !== WebSocket.OPEN) return;
    conn.ws.close(code, reason);
  }

  function onClose(conn: LiveConnection, code: number, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    clearTimeout(conn.idleTimer);
    clearTimeout(conn.maxTimer);
    connections.delete(conn.info.connectionId);
    void runDisconnect(conn.info, conn.authorizer, code, reason);
  }

  function runDisconnect(info: ConnectionInfo, authorizer: AuthorizerContext, code: number, reason: string): Promise<void> {
    const event = disconnectEvent(api, info, code, reason, authorizer);
    return track(
      handlers
        .invoke(routes.$disconnect, event)
        .then(
          () => log(`$disconnect ${info.connectionId} (${code})`),
          (err: Error) => log(`$disconnect ${info.connectionId} failed: ${describeError(err)}`),
        )
        .finally(() => events.emit('disconnect', { connectionId: info.connectionId, statusCode: code, reason })),
    );
  }

  async function shutdown(): Promise<void> {
    const stopped = closeServer(server);
    for (const conn of connections.values()) {
      closeConnection(conn, 1001, 'Going away');
      // A client that does not answer the close frame is cut off.
      setTimeout(() => conn.ws.terminate(), 1000).unref();
    }
    await waitUntil(() => connections.size === 0 && pendingHandshakes === 0 && inflight.size === 0, 10_000);
    await handlers.close();
    server.closeAllConnections();
    await secrets!.close();
    await dynamo!.close();
    await stopped;
  }

  return {
    url,
    managementEndpoint,
    pageUrl: options.page ? `http://${authority}/` : undefined,
    host: clientHost,
    port,
    stage,
    apiId,
    region,
    dynamoEndpoint: dynamo.endpoint,
    secretsEndpoint: secrets.endpoint,
    tableName,
    secret,
    secretArn,
    handlersDir,
    handlerEnv,
    events,
    connectionIds: () => [...connections.keys()],
    settled: (timeoutMs = 10_000) =>
      waitUntil(
        () =>
          pendingHandshakes === 0 &&
          inflight.size === 0 &&
          [...connections.values()].every((conn) => conn.ws.readyState === WebSocket.OPEN),
        timeoutMs,
      ),
    devToken: (sub, claims, expiresInSeconds) => createDevToken({ secret, sub, claims, expiresInSeconds }),
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}

function describeError(err: Error): string {
  return err instanceof HandlerError ? `${err.errorType}: ${err.message}` : err.message;
}

/** The bare address clients (and the handlers) connect to: a wildcard address means this machine. */
function connectableAddress(host: string): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare === '0.0.0.0' || bare === '') return '127.0.0.1';
  if (bare === '::') return '::1';
  return bare;
}

/** The handlers' base environment: the gateway's own, without AWS settings or contract variables. */
function inheritedEnv(): Record<string, string> {
  const contractNames = new Set<string>(Object.values(ENV));
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name.startsWith('AWS_') || contractNames.has(name)) continue;
    env[name] = value;
  }
  return env;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = `${host}:${port}`;
      if (err.code === 'EADDRINUSE') {
        reject(new GatewayListenError(`Port ${port} on ${host} is already in use (EADDRINUSE)`, err.code));
      } else if (err.code === 'EACCES') {
        reject(new GatewayListenError(`No permission to listen on ${where} (EACCES)`, err.code));
      } else {
        reject(new GatewayListenError(`Cannot listen on ${where}: ${err.message}`, err.code));
      }
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

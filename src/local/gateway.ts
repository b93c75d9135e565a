import { isUtf8 } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import type { LocalAppSpec, LocalAuth } from './app-model';
import { decideOnError, decideOnResult, type AuthorizerDecision } from './authorizer-result';
import { defaultApp, defaultHandlersDir } from './default-app';
import { DEV_TOKEN_TTL_SECONDS } from './dev-token';
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
import { FrameSizeGuard } from './frame-guard';
import { functionIndex, localFunctionArn, missingCode, resolveFunctions } from './function-env';
import { handshakeProblem, identitySourcesPresent, integrationResponse, rejectUpgrade } from './handshake';
import { internalHostFor } from './internal-http';
import { handleInvokeRequest, type AsyncInvocationResult } from './invoke-api';
import { HandlerError, startLambdaRuntime, type HandlerOutput, type LambdaRuntime, type RuntimeStats } from './lambda-runtime';
import { urlHost } from './listen';
import { setUpLocalAuth, type LocalAuthSetup } from './local-auth';
import { handleManagementRequest, sendError, type ManagedConnection } from './management-api';
import { startSecretsEmulator, type SecretsEmulator } from './secrets-emulator';
import { handleWebRequest, sendNotFound, type PageAssets, type WebOptions } from './web';
import { LIMITS } from '../shared/contract';

/**
 * The local gateway (README, "The local gateway"): an API Gateway WebSocket stage on one machine, running a `LocalAppSpec` — the
 * library's defaults (`defaultApp`), or a user's app read from its cloud assembly. On one port it serves the
 * WebSocket endpoint, the `@connections` management API and Lambda's Invoke API; it runs every function in
 * Lambda-like execution environments (`lambda-runtime.ts`) and points them, through environment variables only, at
 * an embedded DynamoDB, a local Secrets Manager and (jwks mode) a local JWKS — internal services that listen on
 * loopback only, whatever `--host` says.
 */

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_API_ID = 'local';
export const DEFAULT_REGION = 'us-east-1';

/** A client that stops reading may leave this much unsent before its connection is closed (1008), by default. */
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** Reading a connection's frames pauses while this many of its invocations are queued or running, by default. */
export const DEFAULT_MAX_INFLIGHT_PER_CONNECTION = 32;

export interface LocalGatewayOptions {
  /** TCP port of the WebSocket endpoint, the management API and the Invoke API; 0 picks a free one. @default 8080 */
  readonly port?: number;
  /** Interface the gateway's port listens on (the internal services stay on loopback). @default '127.0.0.1' */
  readonly host?: string;
  /** Stage name: the URL path (`ws://host:port/{stage}`). @default - the app's stage ('dev' for the defaults) */
  readonly stage?: string;
  /** What to run. @default - the library's defaults (`defaultApp`) */
  readonly app?: LocalAppSpec;
  /** Directory of the handler bundles, for the defaults. @default - the package's `assets/handlers` */
  readonly handlersDir?: string;
  /** History (messages table, `history` route), for the defaults. @default true */
  readonly history?: boolean;
  /** Auth, for the defaults. @default - hs256 */
  readonly auth?: LocalAuth;
  /** hs256: the key the authorizer verifies tokens with. @default - a random key */
  readonly secret?: string;
  /** jwks: the key set the authorizer verifies tokens with. @default - the app's, else a local key pair's */
  readonly jwksUrl?: string;
  /** Close a connection (1001) after this many seconds without a client frame. @default 600 */
  readonly idleTimeoutSeconds?: number;
  /** Close every connection (1001) this many seconds after it opened. @default 7200 */
  readonly maxDurationSeconds?: number;
  /** Keep the DynamoDB data in this directory across restarts (needs the optional package classic-level). */
  readonly persistDir?: string;
  /** More environment variables for every function; they override everything else. */
  readonly handlerEnv?: Readonly<Record<string, string>>;
  /** Overrides every function's timeout, in seconds. @default - each function's own */
  readonly handlerTimeoutSeconds?: number;
  /** Where the functions' console output goes. @default 'inherit' */
  readonly handlerOutput?: HandlerOutput;
  /** Execution environments of all functions together. @default 32 */
  readonly maxEnvironments?: number;
  /** Execution environments of one function. @default 8 */
  readonly maxEnvironmentsPerFunction?: number;
  /** Stop an execution environment after this many seconds without an invocation. @default 300 */
  readonly idleEnvironmentSeconds?: number;
  /** Appended to every function's module resolution fallback (e.g. an app's `node_modules`). */
  readonly resolvePaths?: readonly string[];
  /** Load every function's code at start (one environment each), so a load error shows at once. @default true */
  readonly warm?: boolean;
  /** Delays before the retries of a failed asynchronous invocation (Invoke API, `Event`). @default [60000, 120000] */
  readonly asyncRetryDelaysMs?: readonly number[];
  /** Close (1008) a connection whose client leaves more than this many bytes unread. @default 4 MiB */
  readonly maxBufferedBytes?: number;
  /** Pause reading a connection while this many of its invocations are queued or running. @default 32 */
  readonly maxInflightPerConnection?: number;
  /** Gateway activity log (connects, rejections, disconnects, function errors). @default - none */
  readonly log?: (line: string) => void;
  /** API id used in ARNs and events. @default 'local' */
  readonly apiId?: string;
  /** Region the functions see. @default 'us-east-1' */
  readonly region?: string;
  /**
   * Serve the browser chat page at `http://host:port/` (other paths that are neither the stage nor an API then
   * answer 404). @default - no page (like API Gateway: 403 for other paths)
   */
  readonly page?: PageAssets;
  /**
   * Serve `POST /dev-token` (`{"sub":"NAME"}` → a dev token), for the page. A local-development convenience only: it
   * answers same-origin requests from this machine only (see web.ts), and only when the gateway can sign tokens.
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
  /** A connection closed (or its client left during `$connect`) and its `$disconnect` has finished. */
  disconnect: [{ connectionId: string; statusCode: number; reason: string }];
  /** A route's function failed (the client got the internal-error frame). */
  handlerError: [{ routeKey: string; connectionId: string; error: Error }];
  /** An asynchronous invocation (Invoke API, `Event`) finished: succeeded, or failed its last attempt. */
  asyncInvocation: [AsyncInvocationResult];
}

export interface LocalGateway {
  /** `ws://host:port/{stage}` */
  readonly url: string;
  /** `http://host:port/{stage}` — the functions' `MANAGEMENT_ENDPOINT`. */
  readonly managementEndpoint: string;
  /** `http://host:port` — Lambda's Invoke API (`AWS_ENDPOINT_URL_LAMBDA` of the functions). */
  readonly lambdaEndpoint: string;
  /** `http://host:port/` — the chat page, when it is served. */
  readonly pageUrl?: string;
  readonly host: string;
  readonly port: number;
  readonly stage: string;
  readonly apiId: string;
  readonly region: string;
  /** What runs. */
  readonly app: LocalAppSpec;
  /** The bundles directory, when the app is the library's defaults. */
  readonly handlersDir?: string;
  /** The loopback address of the internal services. */
  readonly internalHost: string;
  /** The embedded DynamoDB (`AWS_ENDPOINT_URL_DYNAMODB` of the functions). */
  readonly dynamoEndpoint: string;
  /** The local Secrets Manager (`AWS_ENDPOINT_URL_SECRETS_MANAGER` of the functions). */
  readonly secretsEndpoint: string;
  /** Name of the connections table. */
  readonly tableName: string;
  /** Local table names by table id (`connections`, `messages`). */
  readonly tableNames: Readonly<Record<string, string>>;
  /** The auth mode, and whether `devToken` can sign. */
  readonly auth: Pick<LocalAuthSetup, 'mode' | 'canSign' | 'localJwks' | 'jwksUrl'>;
  /** hs256: the key. */
  readonly secret?: string;
  /** hs256: ARN of the local secret holding it (`AUTH_SECRET_ARN`). */
  readonly secretArn?: string;
  /** The app's warnings and what could not be resolved locally. */
  readonly warnings: readonly string[];
  readonly events: EventEmitter<LocalGatewayEvents>;
  /** The environment a function runs with (undefined for an unknown name). */
  functionEnv(name: string): Readonly<Record<string, string>> | undefined;
  /** Runs a function by name (as the Invoke API does, synchronously); rejects with a `HandlerError`. */
  invoke(name: string, event: unknown): Promise<unknown>;
  /** Execution environments, queues and counters of the Lambda runtime. */
  lambdaStats(): RuntimeStats;
  /** Ids of the open connections. */
  connectionIds(): string[];
  /** Resolves once no handshake, invocation or `$disconnect` is in flight (e.g. after clients closed). */
  settled(timeoutMs?: number): Promise<void>;
  /** A token for `sub` that the app's authorizer accepts (issuer, audience, claims as configured). */
  devToken(sub: string, claims?: Record<string, unknown>, expiresInSeconds?: number): string;
  /** Closes every connection (1001, `$disconnect` runs), then the servers and the embedded DynamoDB. */
  close(): Promise<void>;
}

interface LiveConnection extends ManagedConnection {
  readonly info: ConnectionInfo;
  readonly ws: WebSocket;
  readonly authorizer: AuthorizerContext | undefined;
  lastActiveAt: number;
  closed: boolean;
  /** A frame over 32 KB arrived: its messages are not routed; the connection is closing (1009). */
  refused: boolean;
  /** Invocations of this connection's frames, queued or running. */
  inflight: number;
  paused: boolean;
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
  const handlersDir = options.app ? undefined : (options.handlersDir ?? defaultHandlersDir());
  const app = options.app ?? defaultApp({ handlersDir, stage: options.stage, history: options.history, auth: options.auth });
  const host = options.host ?? DEFAULT_HOST;
  const stage = options.stage ?? app.stage;
  const apiId = options.apiId ?? DEFAULT_API_ID;
  const region = options.region ?? DEFAULT_REGION;
  const idleMs = (options.idleTimeoutSeconds ?? LIMITS.idleTimeoutSeconds) * 1000;
  const maxDurationMs = (options.maxDurationSeconds ?? LIMITS.maxConnectionSeconds) * 1000;
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const maxInflight = Math.max(1, options.maxInflightPerConnection ?? DEFAULT_MAX_INFLIGHT_PER_CONNECTION);
  const routeKeys = new Set(Object.keys(app.routes).filter((key) => !key.startsWith('$')));
  const log = options.log ?? (() => undefined);
  const events = new EventEmitter<LocalGatewayEvents>();

  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stage)) throw new Error(`Invalid stage name "${stage}": use letters, digits, '-' and '_'`);
  for (const [name, ms] of [['idleTimeoutSeconds', idleMs], ['maxDurationSeconds', maxDurationMs]] as const) {
    // setTimeout holds at most 2^31-1 ms.
    if (!(ms > 0) || ms > 2 ** 31 - 1) throw new Error(`${name} must be a positive number of seconds (at most ~24 days)`);
  }
  const missing = missingCode(app);
  if (missing) throw new Error(missing);
  const names = functionIndex(app);
  for (const [route, fn] of Object.entries(app.routes)) if (!names.has(fn)) throw new Error(`route ${route} names no function (${fn})`);
  if (app.authorizer && !names.has(app.authorizer.functionName)) throw new Error(`the authorizer names no function (${app.authorizer.functionName})`);
  const tableNames: Record<string, string> = {};
  for (const table of app.tables) tableNames[table.spec.id] = table.name;

  // 1. The gateway's port first: the endpoints the functions get need it, and a taken port fails fast.
  const server = createServer();
  await listen(server, options.port ?? DEFAULT_PORT, host);
  const port = (server.address() as AddressInfo).port;
  const address = connectableAddress(host);
  const authority = `${urlHost(address)}:${port}`;
  const url = `ws://${authority}/${stage}`;
  const managementEndpoint = `http://${authority}/${stage}`;
  const lambdaEndpoint = `http://${authority}`;
  const api: ApiInfo = { apiId, stage, domainName: authority, region };
  // Whatever --host says, the internal services stay on this machine.
  const internalHost = internalHostFor(host);

  // 2. The internal services, the keys, the Lambda runtime.
  let dynamo: EmbeddedDynamo | undefined;
  let secrets: SecretsEmulator | undefined;
  let auth: LocalAuthSetup | undefined;
  let runtime: LambdaRuntime | undefined;
  let functionEnvs: Map<string, Readonly<Record<string, string>>>;
  const warnings = [...app.warnings];
  try {
    dynamo = await startEmbeddedDynamo({ host: internalHost, tables: app.tables, persistDir: options.persistDir, onError: (m) => log(`error: ${m}`) });
    secrets = await startSecretsEmulator({ host: internalHost, region, accountId: LOCAL_ACCOUNT_ID });
    auth = await setUpLocalAuth(app.auth, { secret: options.secret, jwksUrl: options.jwksUrl, internalHost, secrets });
    const resolved = resolveFunctions(
      app,
      {
        local: {
          connectionsTable: tableNames.connections,
          messagesTable: tableNames.messages,
          managementEndpoint,
          authSecretArn: auth.secretArn,
          jwksUrl: auth.jwksUrl,
        },
        region,
        dynamoEndpoint: dynamo.endpoint,
        secretsEndpoint: secrets.endpoint,
        lambdaEndpoint,
      },
      { extraEnv: options.handlerEnv, timeoutSeconds: options.handlerTimeoutSeconds, resolvePaths: options.resolvePaths },
    );
    warnings.push(...resolved.warnings);
    functionEnvs = new Map(resolved.functions.map((fn) => [fn.name, fn.env]));
    runtime = startLambdaRuntime({
      functions: resolved.functions,
      output: options.handlerOutput,
      maxEnvironments: options.maxEnvironments,
      maxEnvironmentsPerFunction: options.maxEnvironmentsPerFunction,
      idleEnvironmentMs: options.idleEnvironmentSeconds === undefined ? undefined : options.idleEnvironmentSeconds * 1000,
    });
    for (const warning of warnings) log(`warning: ${warning}`);
    if (options.warm ?? true) {
      // One environment per function now (a cold start up front), so code that fails to load shows at once.
      for (const { name, error } of await runtime.warm()) log(`warning: function ${name} failed to load: ${error}`);
    }
  } catch (err) {
    await runtime?.close();
    await auth?.close();
    await secrets?.close();
    await dynamo?.close();
    await closeServer(server);
    throw err;
  }
  const lambda = runtime;
  const keys = auth;

  // 3. The WebSocket endpoint, the management API, the Invoke API.
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
  const retryTimers = new Set<NodeJS.Timeout>();
  let pendingHandshakes = 0;
  let closing: Promise<void> | undefined;

  const track = <T>(promise: Promise<T>): Promise<T> => {
    inflight.add(promise);
    void promise.finally(() => inflight.delete(promise)).catch(() => undefined);
    return promise;
  };
  const invoke = (name: string, event: unknown, requestId?: string) => lambda.invoke(names.get(name) ?? name, event, { requestId });

  const web: WebOptions = {
    stage,
    page: options.page,
    // Local development only: mints a token for any name (see web.ts for who may ask).
    devToken: options.devTokenEndpoint && keys.canSign
      ? (sub) => {
        log(`dev token issued for "${sub}"`);
        return { token: keys.devToken(sub), expiresAt: Math.floor(Date.now() / 1000) + DEV_TOKEN_TTL_SECONDS };
      }
      : undefined,
  };

  server.on('request', (req, res) => {
    if (handleManagementRequest(req, res, { stage, lookup: (id) => openConnection(id) })) return;
    const handled = handleInvokeRequest(req, res, {
      resolve: (ref) => names.get(ref),
      invoke: (name, event, requestId) => invoke(name, event, requestId),
      arnOf: (name) => localFunctionArn(region, name),
      log,
      asyncRetryDelaysMs: options.asyncRetryDelaysMs,
      track,
      schedule: (fn, delayMs) => {
        const timer = setTimeout(() => {
          retryTimers.delete(timer);
          fn();
        }, delayMs);
        retryTimers.add(timer);
      },
      closing: () => !!closing,
      onAsyncResult: (result) => events.emit('asyncInvocation', result),
    });
    if (handled) return;
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

  function reject(socket: Socket, statusCode: number, reason: string, body?: string, headers?: Readonly<Record<string, string>>): void {
    log(`$connect rejected ${statusCode}: ${reason}`);
    rejectUpgrade(socket, statusCode, body, headers);
    events.emit('reject', { statusCode, reason });
  }

  /** The client is gone, or has half-closed (ws would then destroy the socket without completing the handshake). */
  function socketGone(socket: Socket): boolean {
    return socket.destroyed || !socket.readable || !socket.writable;
  }

  async function handshake(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const requestUrl = new URL(req.url ?? '/', 'http://localhost');
    if (closing) return reject(socket, 503, 'the gateway is shutting down');
    if (requestUrl.pathname !== `/${stage}` && requestUrl.pathname !== `/${stage}/`) {
      return reject(socket, 403, `no stage at ${requestUrl.pathname}`);
    }
    // Everything ws would refuse, refused before the authorizer and $connect run.
    const problem = handshakeProblem(req);
    if (problem) return reject(socket, problem.statusCode, problem.reason, undefined, problem.headers);
    const sourceIp = (socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    const info: ConnectionInfo = {
      connectionId: newGatewayId(),
      connectedAt: Date.now(),
      sourceIp,
      userAgent: req.headers['user-agent'],
    };
    const request = readHandshake(req, requestUrl, sourceIp, port);

    // The authorizer, as API Gateway runs it: identity sources first, then the policy.
    let authorizer: AuthorizerContext | undefined;
    if (app.authorizer) {
      const identitySource = app.authorizer.identitySource;
      if (!identitySourcesPresent(identitySource, request)) {
        return reject(socket, 401, `identity source missing (${identitySource.join(', ')})`);
      }
      const started = Date.now();
      let decision: AuthorizerDecision;
      try {
        const result = await invoke(app.authorizer.functionName, authorizerEvent(api, info, request));
        decision = decideOnResult(result, connectMethodArn(api), Date.now() - started);
      } catch (err) {
        decision = decideOnError(err as Error);
      }
      if (!decision.allow) return reject(socket, decision.statusCode, decision.reason);
      authorizer = decision.authorizer;
    }
    if (socketGone(socket)) {
      // Nothing was written yet: no $connect, so no $disconnect either.
      log(`$connect ${info.connectionId} not run: the client left during the authorizer`);
      socket.destroy();
      return;
    }

    // $connect: a non-2xx statusCode (or an error) rejects the handshake.
    let result: unknown;
    if (app.routes.$connect) {
      try {
        result = await invoke(app.routes.$connect, connectEvent(api, info, request, authorizer));
      } catch (err) {
        return reject(socket, 500, `$connect failed: ${describeError(err as Error)}`);
      }
    }
    const response = integrationResponse(result);
    if (response.statusCode < 200 || response.statusCode > 299) {
      return reject(socket, response.statusCode, '$connect answered ' + response.statusCode, response.body);
    }
    // From here the connection was accepted ($connect may have written rows): exactly one $disconnect follows.
    if (socketGone(socket) || closing) {
      // The client left (or half-closed, or the gateway is stopping) while $connect ran: that is its disconnect.
      await runDisconnect(info, authorizer, 1006, 'Client went away before the handshake completed');
      if (!socket.destroyed) rejectUpgrade(socket, 503);
      return;
    }
    if (response.protocol) chosenProtocols.set(req, response.protocol);
    let attached = false;
    wss.handleUpgrade(req, socket, head, (ws) => {
      attached = true;
      attach(ws, socket, info, authorizer);
    });
    if (!attached) {
      // ws gave up on the socket without a connection (it is never expected after the checks above).
      socket.destroy();
      await runDisconnect(info, authorizer, 1006, 'The handshake could not be completed');
    }
  }

  function attach(ws: WebSocket, socket: Socket, info: ConnectionInfo, authorizer: AuthorizerContext | undefined): void {
    const conn: LiveConnection = {
      info,
      ws,
      authorizer,
      connectedAt: info.connectedAt,
      lastActiveAt: info.connectedAt,
      sourceIp: info.sourceIp,
      userAgent: info.userAgent,
      closed: false,
      refused: false,
      inflight: 0,
      paused: false,
      send: (data) => deliver(conn, data),
      disconnect: () => closeConnection(conn, 1000, ''),
    };
    connections.set(info.connectionId, conn);
    conn.idleTimer = setTimeout(() => closeConnection(conn, 1001, 'Going away'), idleMs);
    conn.maxTimer = setTimeout(() => closeConnection(conn, 1001, 'Going away'), maxDurationMs);
    // API Gateway's 32 KB frame limit, checked on the raw stream before ws assembles messages.
    const guard = new FrameSizeGuard(LIMITS.maxFrameBytes, (length) => {
      conn.refused = true;
      log(`connection ${info.connectionId}: a frame of ${length} bytes exceeds the ${LIMITS.maxFrameBytes}-byte frame limit: closing (1009)`);
      closeConnection(conn, 1009, 'Frame size exceeds the 32 KB limit', true);
    });
    socket.prependListener('data', (chunk: Buffer) => guard.push(chunk));
    ws.on('message', (data: Buffer, isBinary: boolean) => onMessage(conn, data, isBinary));
    ws.on('error', (err) => log(`connection ${info.connectionId}: ${err.message}`));
    ws.on('close', (code, reason) => onClose(conn, code, reason.toString()));
    log(`$connect ${info.connectionId} accepted (principal ${authorizer?.principalId ?? '-'})`);
    events.emit('connect', { connectionId: info.connectionId, authorizer: authorizer ?? {} });
  }

  function onMessage(conn: LiveConnection, data: Buffer, isBinary: boolean): void {
    if (conn.closed || conn.refused) return;
    conn.lastActiveAt = Date.now();
    conn.idleTimer?.refresh();
    const routeKey = selectRoute(data, isBinary, routeKeys);
    const event = messageEvent(api, conn.info, routeKey, data, isBinary, conn.authorizer);
    const { connectionId, requestId } = event.requestContext;
    const fn = app.routes[routeKey];
    if (!fn) {
      // No matching route and no $default: API Gateway answers the client itself.
      sendFrame(conn, { message: 'Forbidden', connectionId, requestId });
      return;
    }
    // A client that sends faster than its frames are handled is read more slowly (TCP backpressure), so the queue
    // of one connection stays bounded and other connections keep their share.
    conn.inflight++;
    if (conn.inflight >= maxInflight && !conn.paused) {
      conn.paused = true;
      conn.ws.pause();
    }
    // The integration's result is not sent back (no route responses); only @connections posts reach clients.
    track(invoke(fn, event))
      .catch((err: Error) => {
        log(`${routeKey} ${connectionId} failed: ${describeError(err)}`);
        sendFrame(conn, { message: 'Internal server error', connectionId, requestId });
        events.emit('handlerError', { routeKey, connectionId, error: err });
      })
      .finally(() => {
        conn.inflight--;
        if (conn.paused && conn.inflight <= maxInflight / 2) {
          conn.paused = false;
          if (!conn.closed) conn.ws.resume();
        }
      });
  }

  /** A post to the connection: text when it is UTF-8, else binary (a text frame must be valid UTF-8). */
  function deliver(conn: LiveConnection, data: Buffer): boolean {
    if (conn.ws.bufferedAmount + data.length > maxBufferedBytes) {
      log(`connection ${conn.info.connectionId}: ${conn.ws.bufferedAmount} bytes unread by the client: closing (1008)`);
      closeConnection(conn, 1008, 'Slow consumer: too much unread data', true);
      return false;
    }
    conn.ws.send(data, { binary: !isUtf8(data) });
    return true;
  }

  function sendFrame(conn: LiveConnection, frame: Record<string, unknown>): void {
    if (conn.ws.readyState === WebSocket.OPEN) deliver(conn, Buffer.from(JSON.stringify(frame)));
  }

  /** Closes with a close frame; `force`: the client may not answer it (not reading, mid-frame), cut it off after 1 s. */
  function closeConnection(conn: LiveConnection, code: number, reason: string, force = false): void {
    if (conn.closed || conn.ws.readyState !== WebSocket.OPEN) return;
    conn.ws.close(code, reason);
    if (force) setTimeout(() => conn.ws.terminate(), 1000).unref();
  }

  function onClose(conn: LiveConnection, code: number, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    clearTimeout(conn.idleTimer);
    clearTimeout(conn.maxTimer);
    connections.delete(conn.info.connectionId);
    void runDisconnect(conn.info, conn.authorizer, code, reason);
  }

  function runDisconnect(info: ConnectionInfo, authorizer: AuthorizerContext | undefined, code: number, reason: string): Promise<void> {
    const event = disconnectEvent(api, info, code, reason, authorizer);
    const done = () => events.emit('disconnect', { connectionId: info.connectionId, statusCode: code, reason });
    if (!app.routes.$disconnect) {
      done();
      return Promise.resolve();
    }
    return track(
      invoke(app.routes.$disconnect, event)
        .then(
          () => log(`$disconnect ${info.connectionId} (${code})`),
          (err: Error) => log(`$disconnect ${info.connectionId} failed: ${describeError(err)}`),
        )
        .finally(done),
    );
  }

  async function shutdown(): Promise<void> {
    const stopped = closeServer(server);
    for (const conn of connections.values()) {
      closeConnection(conn, 1001, 'Going away');
      // A client that does not answer the close frame is cut off.
      setTimeout(() => conn.ws.terminate(), 1000).unref();
    }
    for (const timer of retryTimers) clearTimeout(timer);
    retryTimers.clear();
    await waitUntil(() => connections.size === 0 && pendingHandshakes === 0 && inflight.size === 0, 10_000);
    await lambda.close();
    server.closeAllConnections();
    await keys.close();
    await secrets!.close();
    await dynamo!.close();
    await stopped;
  }

  return {
    url,
    managementEndpoint,
    lambdaEndpoint,
    pageUrl: options.page ? `http://${authority}/` : undefined,
    host: urlHost(address),
    port,
    stage,
    apiId,
    region,
    app,
    handlersDir,
    internalHost,
    dynamoEndpoint: dynamo.endpoint,
    secretsEndpoint: secrets.endpoint,
    tableName: tableNames.connections,
    tableNames,
    auth: { mode: keys.mode, canSign: keys.canSign, localJwks: keys.localJwks, jwksUrl: keys.jwksUrl },
    secret: keys.secret,
    secretArn: keys.secretArn,
    warnings,
    events,
    functionEnv: (name) => functionEnvs.get(names.get(name) ?? name),
    invoke: (name, event) => invoke(name, event),
    lambdaStats: () => lambda.stats(),
    connectionIds: () => [...connections.keys()],
    settled: (timeoutMs = 10_000) =>
      waitUntil(
        () =>
          pendingHandshakes === 0 &&
          inflight.size === 0 &&
          [...connections.values()].every((conn) => conn.ws.readyState === WebSocket.OPEN),
        timeoutMs,
      ),
    devToken: (sub, claims, expiresInSeconds) => keys.devToken(sub, claims, expiresInSeconds),
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}

function describeError(err: Error): string {
  return err instanceof HandlerError ? `${err.errorType}: ${err.message}` : err.message;
}

/** The bare address clients (and the functions) connect to: a wildcard address means this machine. */
function connectableAddress(host: string): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare === '0.0.0.0' || bare === '') return '127.0.0.1';
  if (bare === '::') return '::1';
  return bare;
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

import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Builders of the Lambda events API Gateway (WebSocket APIs, Lambda proxy integration) sends: the REQUEST
 * authorizer event of `$connect`, and the `$connect` / message / `$disconnect` route events. Shapes follow
 * the API Gateway developer guide; only the fields a handler can read are produced.
 */

/** The account id of ARNs built locally (API Gateway would put the real one there). */
export const LOCAL_ACCOUNT_ID = '000000000000';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * An id shaped like API Gateway's connection / request ids (`ZxY12abcDEFghIJ=`: 15 characters and `=`).
 * Only letters and digits before the `=`, so it needs no escaping beyond `=` in a URL path.
 */
export function newGatewayId(): string {
  const bytes = randomBytes(15);
  let id = '';
  for (const byte of bytes) id += ALPHANUMERIC[byte % ALPHANUMERIC.length];
  return `${id}=`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's `requestTime` format: `09/Apr/2024:12:34:56 +0000` (UTC). */
export function formatRequestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
  );
}

/** What identifies the API and stage in every event. */
export interface ApiInfo {
  readonly apiId: string;
  readonly stage: string;
  /** `host:port` the client connected to. */
  readonly domainName: string;
  readonly region: string;
}

/** The fixed facts of one connection, shared by all of its events. */
export interface ConnectionInfo {
  readonly connectionId: string;
  /** Epoch milliseconds. */
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent?: string;
}

export type AuthorizerContext = Record<string, string | null | number>;

export interface WebSocketRequestContext {
  routeKey: string;
  eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
  messageId?: string;
  extendedRequestId: string;
  requestTime: string;
  messageDirection: 'IN';
  stage: string;
  connectedAt: number;
  requestTimeEpoch: number;
  identity: { sourceIp: string; userAgent?: string };
  requestId: string;
  domainName: string;
  connectionId: string;
  apiId: string;
  authorizer?: AuthorizerContext;
  disconnectStatusCode?: number;
  disconnectReason?: string;
}

export interface WebSocketEvent {
  requestContext: WebSocketRequestContext;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  body?: string;
  isBase64Encoded: boolean;
}

export interface RequestAuthorizerEvent {
  type: 'REQUEST';
  methodArn: string;
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters: Record<string, string>;
  multiValueQueryStringParameters: Record<string, string[]>;
  stageVariables: Record<string, string>;
  requestContext: WebSocketRequestContext;
}

/** Headers and query string of the upgrade request, in the shapes API Gateway passes them. */
export interface HandshakeRequest {
  readonly headers: Record<string, string>;
  readonly multiValueHeaders: Record<string, string[]>;
  readonly queryStringParameters: Record<string, string>;
  readonly multiValueQueryStringParameters: Record<string, string[]>;
}

/**
 * Reads the upgrade request. Header names keep the client's spelling (as API Gateway passes them); the
 * single-value maps hold the last value of a repeated name. API Gateway adds the `X-Forwarded-*` headers.
 */
export function readHandshake(req: IncomingMessage, url: URL, sourceIp: string, port: number): HandshakeRequest {
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    (multiValueHeaders[req.rawHeaders[i]] ??= []).push(req.rawHeaders[i + 1]);
  }
  multiValueHeaders['X-Forwarded-For'] = [sourceIp];
  multiValueHeaders['X-Forwarded-Port'] = [String(port)];
  multiValueHeaders['X-Forwarded-Proto'] = ['http'];
  const multiValueQueryStringParameters: Record<string, string[]> = {};
  for (const [key, value] of url.searchParams) (multiValueQueryStringParameters[key] ??= []).push(value);
  return {
    headers: lastValues(multiValueHeaders),
    multiValueHeaders,
    queryStringParameters: lastValues(multiValueQueryStringParameters),
    multiValueQueryStringParameters,
  };
}

function lastValues(multi: Record<string, string[]>): Record<string, string> {
  const single: Record<string, string> = {};
  for (const [key, values] of Object.entries(multi)) single[key] = values[values.length - 1];
  return single;
}

function requestContext(
  api: ApiInfo,
  conn: ConnectionInfo,
  routeKey: string,
  eventType: WebSocketRequestContext['eventType'],
  authorizer: AuthorizerContext | undefined,
): WebSocketRequestContext {
  const now = Date.now();
  const identity: WebSocketRequestContext['identity'] = { sourceIp: conn.sourceIp };
  if (conn.userAgent !== undefined) identity.userAgent = conn.userAgent;
  const ctx: WebSocketRequestContext = {
    routeKey,
    eventType,
    extendedRequestId: newGatewayId(),
    requestTime: formatRequestTime(now),
    messageDirection: 'IN',
    stage: api.stage,
    connectedAt: conn.connectedAt,
    requestTimeEpoch: now,
    identity,
    requestId: newGatewayId(),
    domainName: api.domainName,
    connectionId: conn.connectionId,
    apiId: api.apiId,
  };
  if (authorizer) ctx.authorizer = authorizer;
  return ctx;
}

/** `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect`. */
export function connectMethodArn(api: ApiInfo): string {
  return `arn:aws:execute-api:${api.region}:${LOCAL_ACCOUNT_ID}:${api.apiId}/${api.stage}/$connect`;
}

export function authorizerEvent(api: ApiInfo, conn: ConnectionInfo, handshake: HandshakeRequest): RequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: connectMethodArn(api),
    headers: handshake.headers,
    multiValueHeaders: handshake.multiValueHeaders,
    queryStringParameters: handshake.queryStringParameters,
    multiValueQueryStringParameters: handshake.multiValueQueryStringParameters,
    stageVariables: {},
    requestContext: requestContext(api, conn, '$connect', 'CONNECT', undefined),
  };
}

export function connectEvent(
  api: ApiInfo,
  conn: ConnectionInfo,
  handshake: HandshakeRequest,
  authorizer: AuthorizerContext | undefined,
): WebSocketEvent {
  const event: WebSocketEvent = {
    headers: handshake.headers,
    multiValueHeaders: handshake.multiValueHeaders,
    requestContext: requestContext(api, conn, '$connect', 'CONNECT', authorizer),
    isBase64Encoded: false,
  };
  if (Object.keys(handshake.queryStringParameters).length > 0) {
    event.queryStringParameters = handshake.queryStringParameters;
    event.multiValueQueryStringParameters = handshake.multiValueQueryStringParameters;
  }
  return event;
}

/** A client frame, routed to `routeKey`. Binary frames arrive base64-encoded, as API Gateway passes them. */
export function messageEvent(
  api: ApiInfo,
  conn: ConnectionInfo,
  routeKey: string,
  data: Buffer,
  isBinary: boolean,
  authorizer: AuthorizerContext | undefined,
): WebSocketEvent {
  const ctx = requestContext(api, conn, routeKey, 'MESSAGE', authorizer);
  ctx.messageId = newGatewayId();
  return {
    requestContext: ctx,
    body: isBinary ? data.toString('base64') : data.toString('utf8'),
    isBase64Encoded: isBinary,
  };
}

export function disconnectEvent(
  api: ApiInfo,
  conn: ConnectionInfo,
  statusCode: number,
  reason: string,
  authorizer: AuthorizerContext | undefined,
): WebSocketEvent {
  const ctx = requestContext(api, conn, '$disconnect', 'DISCONNECT', authorizer);
  ctx.disconnectStatusCode = statusCode;
  ctx.disconnectReason = reason;
  return {
    headers: { 'Host': api.domainName, 'X-Forwarded-For': conn.sourceIp },
    multiValueHeaders: { 'Host': [api.domainName], 'X-Forwarded-For': [conn.sourceIp] },
    requestContext: ctx,
    isBase64Encoded: false,
  };
}

/**
 * API Gateway's route selection on `$request.body.action`: a JSON object body whose `action` is a string
 * naming a configured route selects it; anything else (non-JSON, binary, no/unknown action) goes to
 * `$default`.
 */
export function selectRoute(data: Buffer, isBinary: boolean, routeKeys: ReadonlySet<string>): string {
  if (isBinary) return '$default';
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    return '$default';
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return '$default';
  const action = (parsed as { action?: unknown }).action;
  if (typeof action === 'string' && !action.startsWith('$') && routeKeys.has(action)) return action;
  return '$default';
}

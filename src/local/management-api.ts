import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { refuseBrowserRequest } from './internal-http';
import { LIMITS } from '../shared/contract';

/**
 * The `@connections` management API of a stage (what `@aws-sdk/client-apigatewaymanagementapi` calls):
 * `POST /{stage}/@connections/{id}` sends the body to the client, `GET` describes the connection, `DELETE`
 * closes it. Unknown or closed connections answer 410 `GoneException`, errors carry the
 * `x-amzn-ErrorType` header the SDK reads. Requests arrive SigV4-signed; signatures are not checked. Requests from
 * web pages (`Origin`, and CORS preflights) are refused with 403, so that no page open in the developer's browser
 * can post frames to, read or close connections.
 */

/** A live connection, as the management API sees it. */
export interface ManagedConnection {
  /** Epoch milliseconds. */
  readonly connectedAt: number;
  /** Epoch milliseconds of the last client frame (or of the connect). */
  readonly lastActiveAt: number;
  readonly sourceIp: string;
  readonly userAgent?: string;
  /**
   * Sends one frame: text when the body is UTF-8, else binary. False when the connection was closed instead (its
   * client stopped reading: see the gateway's `maxBufferedBytes`); the post then answers 410.
   */
  send(data: Buffer): boolean;
  /** Closes the connection (its `$disconnect` runs afterwards). */
  disconnect(): void;
}

export interface ManagementApiOptions {
  readonly stage: string;
  /** A live connection by id; undefined once it is closing or closed. */
  readonly lookup: (connectionId: string) => ManagedConnection | undefined;
}

/** The path of a management call: `/{stage}/@connections/{id}` (segments URL-decoded), or undefined. */
export function parseManagementPath(pathname: string, stage: string): { connectionId: string } | undefined {
  const segments = pathname.split('/');
  if (segments.length !== 4 || segments[0] !== '') return undefined;
  let decoded: string[];
  try {
    decoded = segments.map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
  if (decoded[1] !== stage || decoded[2] !== '@connections' || decoded[3] === '') return undefined;
  return { connectionId: decoded[3] };
}

/** Answers one management call. Returns false when the path is not a management path (nothing written). */
export function handleManagementRequest(req: IncomingMessage, res: ServerResponse, options: ManagementApiOptions): boolean {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const target = parseManagementPath(url.pathname, options.stage);
  if (!target) return false;
  if (refuseBrowserRequest(req, res)) return true;
  void respond(req, res, target.connectionId, options).catch((err: Error) => {
    if (!res.headersSent) sendError(res, 500, 'InternalServerErrorException', err.message);
    else res.destroy();
  });
  return true;
}

async function respond(req: IncomingMessage, res: ServerResponse, connectionId: string, options: ManagementApiOptions): Promise<void> {
  const body = await readBody(req, LIMITS.maxMessageBytes);
  const method = req.method ?? 'GET';
  if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
    sendError(res, 403, 'ForbiddenException', 'Forbidden');
    return;
  }
  if (body === 'too-large') {
    sendError(res, 413, 'PayloadTooLargeException', `Message exceeds the maximum size of ${LIMITS.maxMessageBytes} bytes`);
    return;
  }
  const conn = options.lookup(connectionId);
  if (!conn) {
    sendError(res, 410, 'GoneException', `Connection ${connectionId} is gone`);
    return;
  }
  switch (method) {
    case 'POST':
      if (conn.send(body)) sendEmpty(res, 200);
      else sendError(res, 410, 'GoneException', `Connection ${connectionId} is gone`);
      return;
    case 'GET':
      sendJson(res, 200, {
        connectedAt: new Date(conn.connectedAt).toISOString(),
        identity: { sourceIp: conn.sourceIp, userAgent: conn.userAgent ?? '' },
        lastActiveAt: new Date(conn.lastActiveAt).toISOString(),
      });
      return;
    default:
      conn.disconnect();
      sendEmpty(res, 204);
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function baseHeaders(): Record<string, string> {
  return { 'x-amzn-RequestId': randomUUID(), 'date': new Date().toUTCString() };
}

function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { ...baseHeaders(), 'content-length': '0' });
  res.end();
}

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...baseHeaders(),
    ...extra,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** An error as API Gateway answers it: the type in `x-amzn-ErrorType`, `{"message": ...}` as the body. */
export function sendError(res: ServerResponse, status: number, errorType: string, message: string): void {
  sendJson(res, status, { message }, { 'x-amzn-ErrorType': errorType });
}

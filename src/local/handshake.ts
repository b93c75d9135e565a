import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { HandshakeRequest } from './events';
import { LIMITS } from '../shared/contract';

/** The HTTP side of a WebSocket handshake as API Gateway handles it: checks, `$connect`'s answer, rejections. */

/** API Gateway's limit on the connect URL (README, "API Gateway limits this respects"). */
export const MAX_CONNECT_URL_LENGTH = LIMITS.maxConnectUrlLength;

/** Why an upgrade request must be refused before anything runs, with the HTTP status. */
export interface HandshakeProblem {
  readonly statusCode: number;
  readonly reason: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Every check `ws`'s `handleUpgrade` makes before it accepts a handshake (method, `Upgrade`, `Sec-WebSocket-Key`,
 * `Sec-WebSocket-Version`, a well-formed `Sec-WebSocket-Protocol`; the gateway offers no extensions, so
 * `Sec-WebSocket-Extensions` is ignored as ws ignores it then), with ws's status codes, plus API Gateway's limit on
 * the connect URL (414). They run BEFORE the authorizer and `$connect`: a handshake that ws would then refuse must
 * not leave a row that no `$disconnect` ever removes.
 */
export function handshakeProblem(req: IncomingMessage): HandshakeProblem | undefined {
  const urlLength = `ws://${req.headers.host ?? ''}${req.url ?? ''}`.length;
  if (urlLength > MAX_CONNECT_URL_LENGTH) {
    return { statusCode: 414, reason: `connect URL of ${urlLength} characters (API Gateway's limit is ${MAX_CONNECT_URL_LENGTH})` };
  }
  if (req.method !== 'GET') return { statusCode: 405, reason: 'Invalid HTTP method' };
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return { statusCode: 400, reason: 'Invalid Upgrade header' };
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !/^[+/0-9A-Za-z]{22}==$/.test(key)) return { statusCode: 400, reason: 'Missing or invalid Sec-WebSocket-Key header' };
  const version = Number(req.headers['sec-websocket-version']);
  if (version !== 13 && version !== 8) {
    return { statusCode: 400, reason: 'Missing or invalid Sec-WebSocket-Version header', headers: { 'Sec-WebSocket-Version': '13, 8' } };
  }
  const protocol = req.headers['sec-websocket-protocol'];
  if (protocol !== undefined && parseSubprotocols(protocol) === undefined) {
    return { statusCode: 400, reason: 'Invalid Sec-WebSocket-Protocol header' };
  }
  return undefined;
}

/** RFC 7230 `tchar`. */
const TOKEN_CHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;

/**
 * `Sec-WebSocket-Protocol`: a comma-separated list of distinct tokens (spaces and tabs allowed around commas, not
 * before the first token nor after the last), as ws parses it; undefined when malformed.
 */
export function parseSubprotocols(header: string): string[] | undefined {
  const protocols: string[] = [];
  let start = -1;
  let end = -1;
  let i = 0;
  const add = (protocol: string): boolean => {
    if (protocols.includes(protocol)) return false;
    protocols.push(protocol);
    return true;
  };
  for (; i < header.length; i++) {
    const ch = header[i];
    if (end === -1 && TOKEN_CHAR.test(ch)) {
      if (start === -1) start = i;
    } else if (i !== 0 && (ch === ' ' || ch === '\t')) {
      if (end === -1 && start !== -1) end = i;
    } else if (ch === ',') {
      if (start === -1) return undefined;
      if (end === -1) end = i;
      if (!add(header.slice(start, end))) return undefined;
      start = end = -1;
    } else {
      return undefined;
    }
  }
  if (start === -1 || end !== -1) return undefined;
  return add(header.slice(start, i)) ? protocols : undefined;
}

/** The part of an integration response API Gateway reads on `$connect`. */
export function integrationResponse(result: unknown): { statusCode: number; body?: string; protocol?: string } {
  if (result === null || typeof result !== 'object') return { statusCode: 200 };
  const { statusCode, body, headers } = result as { statusCode?: unknown; body?: unknown; headers?: unknown };
  let protocol: string | undefined;
  if (headers && typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers)) {
      if (name.toLowerCase() === 'sec-websocket-protocol' && typeof value === 'string') protocol = value;
    }
  }
  return {
    statusCode: typeof statusCode === 'number' ? statusCode : Number(statusCode ?? 200) || 200,
    body: typeof body === 'string' ? body : undefined,
    protocol,
  };
}

/** `route.request.querystring.X` / `route.request.header.X`: every source must be present and non-empty. */
export function identitySourcesPresent(sources: readonly string[], request: HandshakeRequest): boolean {
  return sources.every((source) => {
    const query = /^route\.request\.querystring\.(.+)$/.exec(source);
    if (query) return !!request.queryStringParameters[query[1]];
    const header = /^route\.request\.header\.(.+)$/.exec(source);
    if (header) {
      const wanted = header[1].toLowerCase();
      return Object.entries(request.headers).some(([name, value]) => name.toLowerCase() === wanted && value !== '');
    }
    return true;
  });
}

/** Writes an HTTP error response on a socket that asked to upgrade, and closes it. */
export function rejectUpgrade(socket: Socket, statusCode: number, body?: string, headers: Readonly<Record<string, string>> = {}): void {
  if (socket.destroyed) return;
  const text = body ?? JSON.stringify({ message: statusMessage(statusCode) });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('') +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(text)}\r\n` +
      '\r\n' +
      text,
  );
}

function statusMessage(statusCode: number): string {
  if (statusCode === 500) return 'Internal server error';
  return STATUS_CODES[statusCode] ?? 'Error';
}

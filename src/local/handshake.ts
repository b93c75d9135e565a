import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { HandshakeRequest } from './events';

/** The HTTP side of a WebSocket handshake as API Gateway handles it: checks, `$connect`'s answer, rejections. */

/**
 * What ws checks in `handleUpgrade`, checked before the authorizer and `$connect` run (a row must not be
 * written for a handshake that then fails).
 */
export function isWebSocketHandshake(req: IncomingMessage): boolean {
  const key = req.headers['sec-websocket-key'];
  const version = req.headers['sec-websocket-version'];
  return (
    req.method === 'GET' &&
    req.headers.upgrade?.toLowerCase() === 'websocket' &&
    !!key &&
    /^[+/0-9A-Za-z]{22}==$/.test(key) &&
    (version === '13' || version === '8')
  );
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
export function rejectUpgrade(socket: Socket, statusCode: number, body?: string): void {
  if (socket.destroyed) return;
  const text = body ?? JSON.stringify({ message: statusMessage(statusCode) });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${statusCode} ${STATUS_CODES[statusCode] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
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

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv6 } from 'node:net';
import { isLoopbackAddress } from './web';

/**
 * Guards shared by the gateway's machine-facing HTTP endpoints (the embedded DynamoDB, the secrets emulator, the
 * JWKS server, the `@connections` API and the Lambda Invoke API): they serve tools and SDKs, never web pages.
 */

/**
 * Refuses (403, and true) a request a browser made on behalf of a web page — it carries `Origin` (every cross-origin
 * request and every CORS preflight does) or `Sec-Fetch-Site` — so that no other page open in the developer's
 * browser can read the table, read a secret or post frames to connections. SDKs and command-line tools send
 * neither header.
 */
export function refuseBrowserRequest(req: IncomingMessage, res: ServerResponse, errorType = 'ForbiddenException'): boolean {
  if (req.headers.origin === undefined && req.headers['sec-fetch-site'] === undefined && req.method !== 'OPTIONS') return false;
  req.resume();
  const body = JSON.stringify({ message: 'Requests from web pages (Origin) are refused: this endpoint serves SDKs and tools only' });
  res.writeHead(403, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'x-amzn-ErrorType': errorType,
    'x-amzn-RequestId': randomUUID(),
  });
  res.end(body);
  return true;
}

/**
 * Whether the caller of a request is on this machine: a loopback peer, or a peer whose address is the very
 * address it reached us on (a connection from this host to one of its own non-loopback addresses, e.g. a handler
 * calling the gateway on `--host 192.168.1.5`).
 */
export function isLocalCaller(req: IncomingMessage): boolean {
  const { remoteAddress, localAddress } = req.socket;
  if (isLoopbackAddress(remoteAddress)) return true;
  return !!remoteAddress && stripMapped(remoteAddress) === stripMapped(localAddress ?? '');
}

function stripMapped(address: string): string {
  return address.replace(/^::ffff:/i, '');
}

/**
 * The loopback address the internal services (DynamoDB, secrets, JWKS) listen on, whatever `--host` says: `::1`
 * when the gateway's host is an IPv6 address (other than the dual-stack wildcard `::`), else `127.0.0.1`.
 */
export function internalHostFor(host: string): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return isIPv6(bare) && bare !== '::' ? '::1' : '127.0.0.1';
}
